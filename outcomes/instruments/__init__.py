"""The questionnaires a ketamine clinic uses, as data.

Each instrument is one frozen :class:`~outcomes.instruments.model.Instrument` entry in
:data:`~outcomes.instruments.registry.INSTRUMENTS`. Scoring (:mod:`outcomes.scoring`) reads
these entries and has no branch for any particular instrument: a new questionnaire is a new
entry, not new code.

Modules
-------
``model``
    The dataclasses an entry is built from (``Instrument``, ``Item``, ``Domain``, ``Band``,
    ``SafetyItem``, ``TotalFlag``, ``RiskLevel``, ``Condition``, ``Requirement``) and how items
    combine into a total.
``phq``, ``qids``, ``madrs``, ``cssrs``, ``pcl5``
    One module per instrument or family, each entry with its citation and licence.
``registry``
    ``INSTRUMENTS``, in display order, and the lookups over it (``get_instrument``,
    ``instrument_ids``, ``course_instruments``, ``clinician_rated_instruments``).

Adding an instrument
--------------------
One module and one registry row:

1. Write ``outcomes/instruments/<name>.py`` defining one ``Instrument`` (items, range,
   domains, bands, safety items, LOINC codes where verified, ``citation`` and ``licence``),
   next to the others. Add its line to ``docs/architecture.md``.
2. Import it in ``registry.py`` and add it to ``INSTRUMENTS``. Scoring, rules, FHIR, import,
   export and every instrument picker then take it from the registry.
3. Add its rules to ``shared/clinical/scoring-spec.md``, its golden tests to
   ``tests/test_outcomes/test_spec_scoring.py`` and its row to the README
   (``tests/test_docs.py`` checks the last two).

Every rule cites its source in ``shared/clinical/scoring-spec.md`` (section numbers given as
``spec §``). No copyrighted item text is stored: items carry short names only, except the
PHQ-9 and GAD-7, whose copyright holder permits reproduction ("No permission required to
reproduce, translate, display or distribute", spec §6).
"""

from outcomes.instruments.model import (
    Band,
    Condition,
    Domain,
    Instrument,
    Item,
    Rater,
    Requirement,
    RiskLevel,
    SafetyItem,
    TotalFlag,
)
from outcomes.instruments.registry import (
    INSTRUMENTS,
    clinician_rated_instruments,
    course_instruments,
    get_instrument,
    instrument_ids,
)

__all__ = [
    "INSTRUMENTS",
    "Band",
    "Condition",
    "Domain",
    "Instrument",
    "Item",
    "Rater",
    "Requirement",
    "RiskLevel",
    "SafetyItem",
    "TotalFlag",
    "clinician_rated_instruments",
    "course_instruments",
    "get_instrument",
    "instrument_ids",
]
