"""The sections of a clinician's patient page, one module each.

``dashboard/app_pages/clinician/patient.py`` reads the patient's record once and hands it to
these functions in order: who the patient is (``identity``), how their course stands
(``course_summary``), the infusion log and form (``infusion_log``, ``infusion_form``), a
clinician's rating (``rating_form``) and the files to download (``exports``). Each draws one
part of the page and calls ``data`` for anything it stores; none reads another's widgets.
"""
