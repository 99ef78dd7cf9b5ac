"""How one answer of a ``QuestionnaireResponse`` becomes a whole number.

An answer is a ``valueCoding`` with a LOINC answer code (``system`` optional), a
``valueInteger``, an integral ``valueDecimal``, or a coding that carries an ordinal in the SDC
``ordinalValue`` extension (or its R5 name ``itemWeight``, or the older ``iso21090-CO-value``);
the ordinal wins over the code when both are present. Values are read from the sender's own
JSON, so ``true``, ``"2"`` and ``1.5`` are refused rather than coerced.

References
----------
.. [1] HL7 FHIR extension ``ordinalValue``,
   http://hl7.org/fhir/StructureDefinition/ordinalValue (R5: ``itemWeight``); Structured Data
   Capture (SDC) IG, http://hl7.org/fhir/uv/sdc/
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from outcomes.errors import FhirError
from outcomes.fhir.codes import LOINC_SYSTEM, ORDINAL_URLS, ORDINAL_VALUE_URL, answer_codes
from outcomes.instruments import Instrument

__all__ = ["read_answer", "read_authored", "read_total"]


def _whole_number(value: object, what: str) -> int:
    """An exact JSON number as an int; booleans, strings and fractions are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FhirError(f"{what} is {_as_json(value)}, not a whole number")
    if isinstance(value, int):
        return value
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite or value != int(value):
        raise FhirError(f"{what} is {_as_json(value)}, not a whole number")
    return int(value)


def _as_json(value: object) -> str:
    """A value as it looks in the JSON the sender wrote (``true``, ``"2"``, ``1.5``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _ordinal(element: Mapping[str, Any], what: str) -> int | None:
    for extension in element.get("extension") or []:
        if isinstance(extension, Mapping) and extension.get("url") in ORDINAL_URLS:
            for value_key in ("valueDecimal", "valueInteger"):
                if value_key in extension:
                    return _whole_number(
                        extension[value_key], f"{what}: {extension['url']} {value_key}"
                    )
    return None


def read_answer(item: Mapping[str, Any], instrument: Instrument, key: str, what: str) -> int | None:
    """One item's answer as a whole number, or ``None`` when it is unanswered."""
    answer = _single_answer(item, instrument, what)
    if answer is None:
        return None
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        ordinal = _ordinal(coding, what)
        if ordinal is None:
            ordinal = _ordinal(answer, what)
        if ordinal is not None:
            return ordinal
        system, code = coding.get("system"), coding.get("code")
        codes = answer_codes(instrument, key)
        if system in (None, LOINC_SYSTEM):
            for offset, (answer_code, _display) in enumerate(codes):
                if code == answer_code:
                    return instrument.min_value + offset
        expected = (
            "one of "
            + ", ".join(f"{c} ({instrument.min_value + n})" for n, (c, _) in enumerate(codes))
            if codes
            else "a valueInteger"
        )
        raise FhirError(
            f"{what}: answer code {code!r} (system {system!r}) is not a recognised answer to "
            f"{key}; expected {expected}, or a coding with the {ORDINAL_VALUE_URL} extension"
        )
    if "valueInteger" in answer:
        return _whole_number(answer["valueInteger"], f"{what}: valueInteger")
    if "valueDecimal" in answer:
        return _whole_number(answer["valueDecimal"], f"{what}: valueDecimal")
    kinds = ", ".join(sorted(k for k in answer if k.startswith("value"))) or "no value"
    raise FhirError(
        f"{what}: answer has {kinds}; a {instrument.name} answer must be valueCoding, "
        "valueInteger or valueDecimal"
    )


def read_total(item: Mapping[str, Any], instrument: Instrument, what: str) -> int | None:
    """The total a sender reported in a total item, or ``None`` when it has no answer."""
    answer = _single_answer(item, instrument, what)
    if answer is None:
        return None
    for value_key in ("valueInteger", "valueDecimal"):
        if value_key in answer:
            return _whole_number(answer[value_key], f"{what}: {instrument.name} total {value_key}")
    if "valueQuantity" in answer and "value" in answer["valueQuantity"]:
        return _whole_number(
            answer["valueQuantity"]["value"], f"{what}: {instrument.name} total valueQuantity"
        )
    kinds = ", ".join(sorted(k for k in answer if k.startswith("value"))) or "no value"
    raise FhirError(
        f"{what}: the {instrument.name} total has {kinds}; expected valueInteger, valueDecimal "
        "or valueQuantity"
    )


def _single_answer(
    item: Mapping[str, Any], instrument: Instrument, what: str
) -> Mapping[str, Any] | None:
    answers = item.get("answer") or []
    if len(answers) > 1:
        raise FhirError(
            f"{what}: {len(answers)} answers; each {instrument.name} item takes exactly one"
        )
    return answers[0] if answers else None


def read_authored(value: object, where: str) -> tuple[datetime | None, date | None]:
    """``authored`` as an aware datetime and its own calendar date (date only: no time)."""
    if value is None:
        return None, None
    if isinstance(value, datetime):
        # The FHIR dateTime pattern requires a zone whenever a time is given, so the offset
        # exists; it is rebuilt as a stdlib timezone so callers never see pydantic's TzInfo.
        offset = value.utcoffset()
        if offset is None:
            raise FhirError(f"{where}authored {value.isoformat()} has no time zone")
        return value.replace(tzinfo=timezone(offset)), value.date()
    if isinstance(value, date):
        return None, value
    raise FhirError(
        f"{where}authored {value!r} gives only a year or a month; an assessment needs at least "
        "a full date (YYYY-MM-DD)"
    )
