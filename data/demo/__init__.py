"""The demo clinic: a seeded, deterministic, entirely **synthetic** ketamine clinic.

Nothing here describes a real person. Every name comes from a short list of obviously
made-up names, every record number starts with ``DEMO-``, the clinic is called
"Demo Clinic (synthetic data)" and is flagged ``is_demo``, and the generator refuses to run
in a database that holds a real clinic.

:func:`seed_demo` builds about 18 months of a clinic that *behaves* like the community
ketamine clinics that have published their outcomes: induction courses of six infusions,
maintenance and boosters, weekly PHQ-9 and GAD-7 check-ins with missed weeks, a minority
who stop early, about half who respond, relapses, infusion-chair vitals and side effects,
and a few positive self-harm answers with their safety alerts. The same ``seed`` and
``today`` always give the same clinic.

Sign in as ``demo-patient``, ``demo-clinician`` or ``demo-admin``, password ``demo``.

One job per module: :mod:`~data.demo.plan` (what a planned patient is),
:mod:`~data.demo.courses` (one patient's course), :mod:`~data.demo.cohort` (who the patients
are), :mod:`~data.demo.answers` (questionnaire answers), :mod:`~data.demo.infusions`
(infusion-chair rows), :mod:`~data.demo.staff` (accounts), :mod:`~data.demo.follow_up` (what
was done with the safety alerts), :mod:`~data.demo.messages` (reminders on, the on-call list,
fictional addresses), :mod:`~data.demo.write` (bulk inserts) and
:mod:`~data.demo.seed` (:func:`seed_demo`, which writes them in order). Patients, safety
alerts and the audit trail go through the writers of real records.
"""

from data.demo.seed import DEMO_ACTOR_NAME, DEMO_CLINIC_NAME, DemoSummary, seed_demo
from data.demo.staff import DEMO_PASSWORD, DEMO_SIGN_INS, DemoSignIn

__all__ = [
    "DEMO_ACTOR_NAME",
    "DEMO_CLINIC_NAME",
    "DEMO_PASSWORD",
    "DEMO_SIGN_INS",
    "DemoSignIn",
    "DemoSummary",
    "seed_demo",
]
