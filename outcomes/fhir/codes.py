"""The codes FHIR content is written and read with: code systems, canonicals, lookup tables.

PHQ-9 and GAD-7 have verified LOINC codes (scoring-spec §5): the panel is the ``questionnaire``
canonical ``http://loinc.org/q/<panel>``, the item codes are the ``linkId``, the answers are
LOINC ``LA`` codes. The other instruments have none, so they use our own canonical
``urn:clinic:outcomes:questionnaire:<id>``, their item keys as ``linkId`` and the code system
``urn:clinic:outcomes`` (``<id>_total`` for a total). Item codes come from the instrument
registry (:mod:`outcomes.instruments`); this module holds what the registry does not: the
FHIR-side URLs, the answer list of PHQ-9 item 10, the total displays, and the maps from a
``linkId`` or ``code`` to the item it stands for.

References
----------
.. [1] HL7 FHIR extension ``ordinalValue``,
   http://hl7.org/fhir/StructureDefinition/ordinalValue (R5: ``itemWeight``); Structured Data
   Capture (SDC) IG, http://hl7.org/fhir/uv/sdc/
.. [2] LOINC 44249-1 "PHQ-9 quick depression assessment panel" and 69737-5 "Generalized
   anxiety disorder 7 item (GAD-7)", with item, total and answer codes as listed in
   ``shared/clinical/scoring-spec.md`` §5. https://loinc.org/44249-1/,
   https://loinc.org/69737-5/
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from outcomes.instruments import INSTRUMENTS, Instrument

__all__ = [
    "BY_KEY",
    "BY_LOINC",
    "ITEM_ANSWERS",
    "LOCAL_CODE_SYSTEM",
    "LOCAL_QUESTIONNAIRE_PREFIX",
    "LOINC_QUESTIONNAIRE_PREFIX",
    "LOINC_SYSTEM",
    "OBSERVATION_CATEGORY_SYSTEM",
    "ORDINAL_URLS",
    "ORDINAL_VALUE_URL",
    "QR_STATUSES",
    "TOTAL_DISPLAY",
    "UCUM_SYSTEM",
    "UUID_NAMESPACE",
    "Target",
    "answer_codes",
    "canonical",
    "instrument_from_canonical",
]

LOINC_SYSTEM = "http://loinc.org"
LOINC_QUESTIONNAIRE_PREFIX = "http://loinc.org/q/"
LOCAL_CODE_SYSTEM = "urn:clinic:outcomes"
LOCAL_QUESTIONNAIRE_PREFIX = "urn:clinic:outcomes:questionnaire:"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT_URL = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ISO21090_CO_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"
UCUM_SYSTEM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

ORDINAL_URLS = (ORDINAL_VALUE_URL, ITEM_WEIGHT_URL, ISO21090_CO_VALUE_URL)

# R4 QuestionnaireResponse.status is bound (required) to this value set; fhir.resources does
# not check code bindings, so an invented status would otherwise pass.
QR_STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})

# PHQ-9 item 10 (functional difficulty) has its own LOINC answer list. LOINC's order is
# 0 LA6572-7, 1 LA6573-5, 2 LA6575-0, 3 LA6574-3: "Very difficult" is LA6575-0 and
# "Extremely difficult" LA6574-3, so the codes are *not* in numeric order. Verified against the
# LOINC-derived answerOption lists of the MII PRO IG PHQ-9 Questionnaire
# (medizininformatik-initiative/kerndatensatzmodul-proms) and LHC-Forms/Medplum PHQ-9 forms.
ITEM_ANSWERS: dict[str, tuple[tuple[str, str], ...]] = {
    "phq9_10": (
        ("LA6572-7", "Not difficult at all"),
        ("LA6573-5", "Somewhat difficult"),
        ("LA6575-0", "Very difficult"),
        ("LA6574-3", "Extremely difficult"),
    ),
}

TOTAL_DISPLAY = {
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
}

# Bundle fullUrls are derived from (subject, instrument, authored) so that exporting the same
# administrations twice gives the same Bundle, and a receiver can de-duplicate on fullUrl.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, LOCAL_CODE_SYSTEM)


@dataclass(frozen=True)
class Target:
    """What a response item stands for: an item of an instrument, or its total (key None)."""

    instrument: Instrument
    key: str | None


def _build_lookup() -> tuple[dict[str, Target], dict[str, Target]]:
    """Item and total codes from the registry: (by LOINC code, by our key or ``<id>_total``)."""
    by_code: dict[str, Target] = {}
    by_key: dict[str, Target] = {}
    for instrument in INSTRUMENTS:
        for item in instrument.items:
            by_key[item.key] = Target(instrument, item.key)
            if item.loinc is not None:
                by_code[item.loinc] = Target(instrument, item.key)
        by_key[f"{instrument.id}_total"] = Target(instrument, None)
        if instrument.loinc_total is not None:
            by_code[instrument.loinc_total] = Target(instrument, None)
    return by_code, by_key


# Built once from the registry: what a linkId or code means, for every instrument.
BY_LOINC, BY_KEY = _build_lookup()


def instrument_from_canonical(questionnaire: object) -> Instrument | None:
    """The instrument a ``questionnaire`` canonical names (LOINC panel or our own), if any."""
    if not isinstance(questionnaire, str):
        return None
    url = questionnaire.split("|", 1)[0]
    if url.startswith(LOCAL_QUESTIONNAIRE_PREFIX):
        local_id = url.removeprefix(LOCAL_QUESTIONNAIRE_PREFIX)
        for instrument in INSTRUMENTS:
            if instrument.id == local_id:
                return instrument
        return None
    for instrument in INSTRUMENTS:
        # The panel code as a whole token: 44249-1 in ".../q/44249-1" or "Questionnaire/44249-1-x",
        # but not inside "144249-12".
        panel = instrument.loinc_panel
        if panel is not None and re.search(rf"(?<![0-9A-Za-z]){re.escape(panel)}(?![0-9])", url):
            return instrument
    return None


def answer_codes(instrument: Instrument, key: str) -> tuple[tuple[str, str], ...]:
    """(LOINC answer code, display) for values min_value, min_value+1, ... of one item."""
    if key in ITEM_ANSWERS:
        return ITEM_ANSWERS[key]
    return tuple(zip(instrument.answer_loinc, instrument.answer_labels, strict=True))


def canonical(instrument: Instrument) -> str:
    """The ``questionnaire`` canonical an instrument is written with."""
    if instrument.loinc_panel is not None:
        return f"{LOINC_QUESTIONNAIRE_PREFIX}{instrument.loinc_panel}"
    return f"{LOCAL_QUESTIONNAIRE_PREFIX}{instrument.id}"
