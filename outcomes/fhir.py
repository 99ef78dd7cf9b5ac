"""Read and write questionnaire administrations as HL7 FHIR R4 resources.

An administration travels as a ``QuestionnaireResponse`` (the item answers, which are the
source of truth) and, when the instrument has a sum score, a total-score ``Observation``
``derivedFrom`` it. Several of one patient's administrations travel as a ``collection``
``Bundle``.

Reading (:func:`parse_questionnaire_response`, :func:`parse_bundle`)
---------------------------------------------------------------------
Real systems identify PHQ-9 and GAD-7 items in several ways, and all of them are read:

* the LOINC item code as ``linkId``, bare (``"44250-9"``) or as the LHC-Forms path
  (``"/44250-9"``, ``"/44249-1/44250-9"``);
* our own item key as ``linkId`` (``"phq9_1"``), which is also how the instruments without
  LOINC codes are written;
* a LOINC ``code`` on the response item with an opaque ``linkId`` (``"q1"``). R4
  ``QuestionnaireResponse.item`` has no ``code`` element (only ``Questionnaire.item`` does),
  but some form tools copy it across anyway.

Items may be nested in groups (``item.item``) or under answers (``answer.item``). An answer
is a ``valueCoding`` with a LOINC answer code (``system`` optional), a ``valueInteger``, an
integral ``valueDecimal``, or a coding that carries an ordinal in the SDC ``ordinalValue``
extension (or its R5 name ``itemWeight``, or the older ``iso21090-CO-value``); the ordinal
wins over the code when both are present. The instrument comes from the ``questionnaire``
canonical when that names a LOINC panel (``44249-1``, ``69737-5``) or one of our own
``urn:clinic:outcomes:questionnaire:<id>`` canonicals, and otherwise from the items' codes.
A total found in the resource is *reported*, never trusted: the total is recomputed with
:func:`outcomes.scoring.score` and a disagreement is reported, not resolved.

Writing (:func:`questionnaire_response`, :func:`total_observation`, :func:`patient_bundle`)
------------------------------------------------------------------------------------------
PHQ-9 and GAD-7 are written the LOINC way: ``questionnaire`` ``http://loinc.org/q/<panel>``,
the item code as ``linkId``, answers as ``valueCoding`` (``http://loinc.org``, the ``LA``
code, its display) with the ordinal in an ``ordinalValue`` extension, so that a reader that
knows neither LOINC answer codes nor our library can still sum the answers. The other
instruments have no verified LOINC codes (scoring-spec §5), so they are written with our item
keys as ``linkId``, ``valueInteger`` answers and the canonical
``urn:clinic:outcomes:questionnaire:<id>``; their totals use the code system
``urn:clinic:outcomes`` with code ``<id>_total``.

Validation
----------
Every resource read or written is validated with ``fhir.resources`` 8. That package ships
models for FHIR R4B (4.3.0) and STU3 but not R4 (4.0.1); R4B's ``QuestionnaireResponse``,
``Observation`` and ``Bundle`` have the same elements and JSON as R4's, so the R4B models are
used for R4 content. The models forbid unknown elements, and would therefore reject the
non-standard ``QuestionnaireResponse.item.code``. That one element is removed from a copy
before validation (every other unknown element still fails), and items are identified and
answers read from the caller's original mapping. Reading the original mapping also keeps
JSON types exact: the models coerce ``true`` and ``"2"`` to the integers 1 and 2, which would
turn an unreadable answer into a plausible one.

References
----------
.. [1] HL7 FHIR R4 (4.0.1), QuestionnaireResponse.
   https://hl7.org/fhir/R4/questionnaireresponse.html
.. [2] HL7 FHIR R4 (4.0.1), Observation and Bundle. https://hl7.org/fhir/R4/observation.html,
   https://hl7.org/fhir/R4/bundle.html
.. [3] HL7 FHIR extension ``ordinalValue``,
   http://hl7.org/fhir/StructureDefinition/ordinalValue (R5: ``itemWeight``); Structured Data
   Capture (SDC) IG, http://hl7.org/fhir/uv/sdc/
.. [4] LOINC 44249-1 "PHQ-9 quick depression assessment panel" and 69737-5 "Generalized
   anxiety disorder 7 item (GAD-7)", with item, total and answer codes as listed in
   ``shared/clinical/scoring-spec.md`` §5. https://loinc.org/44249-1/,
   https://loinc.org/69737-5/
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, ValidationError

from outcomes.errors import FhirError
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument
from outcomes.rules import Rules
from outcomes.scoring import PRORATED, Score, score

__all__ = [
    "Administration",
    "ParsedResponse",
    "parse_bundle",
    "parse_questionnaire_response",
    "patient_bundle",
    "questionnaire_response",
    "total_observation",
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

_ORDINAL_URLS = (ORDINAL_VALUE_URL, ITEM_WEIGHT_URL, ISO21090_CO_VALUE_URL)
_TIME_WITHOUT_ZONE = re.compile(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")

# R4 QuestionnaireResponse.status is bound (required) to this value set; fhir.resources does
# not check code bindings, so an invented status would otherwise pass.
_QR_STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})

# PHQ-9 item 10 (functional difficulty) has its own LOINC answer list. LOINC's order is
# 0 LA6572-7, 1 LA6573-5, 2 LA6575-0, 3 LA6574-3: "Very difficult" is LA6575-0 and
# "Extremely difficult" LA6574-3, so the codes are *not* in numeric order. Verified against the
# LOINC-derived answerOption lists of the MII PRO IG PHQ-9 Questionnaire
# (medizininformatik-initiative/kerndatensatzmodul-proms) and LHC-Forms/Medplum PHQ-9 forms.
_ITEM_ANSWERS: dict[str, tuple[tuple[str, str], ...]] = {
    "phq9_10": (
        ("LA6572-7", "Not difficult at all"),
        ("LA6573-5", "Somewhat difficult"),
        ("LA6575-0", "Very difficult"),
        ("LA6574-3", "Extremely difficult"),
    ),
}

_TOTAL_DISPLAY = {
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
}

# Bundle fullUrls are derived from (subject, instrument, authored) so that exporting the same
# administrations twice gives the same Bundle, and a receiver can de-duplicate on fullUrl.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, LOCAL_CODE_SYSTEM)

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class ParsedResponse:
    """One administration read from a ``QuestionnaireResponse``.

    Attributes
    ----------
    instrument : str
        Our instrument id (``"phq9"``, ``"gad7"``, ...).
    items : dict of str to int or None
        Every item key of the instrument (PHQ-9 includes ``phq9_10``) with the answer read,
        or ``None`` when the resource has no answer for it. Out-of-range integers are passed
        through unchanged, so that scoring can report them (scoring-spec §1.2).
    authored : datetime or None
        ``QuestionnaireResponse.authored``, timezone-aware, or ``None`` when the resource gives
        no time of day (FHIR requires a zone whenever a time is given).
    authored_date : date or None
        The calendar date of ``authored`` in the resource's own UTC offset (not converted to
        UTC), also set when ``authored`` is a date without a time.
    subject : str or None
        ``subject.reference`` (for example ``"Patient/123"``).
    reported_total : int or None
        The total the sender put in the resource (the instrument's total LOINC code, or our
        ``<id>_total`` linkId), if any. Reported, never trusted.
    score : Score
        The answers scored again by :func:`outcomes.scoring.score`.
    status : str
        ``QuestionnaireResponse.status``. Responses ``entered-in-error`` are returned like the
        others; callers decide whether to drop them.
    questionnaire : str or None
        The ``questionnaire`` canonical as given.
    id : str or None
        The resource id.
    """

    instrument: str
    items: dict[str, int | None]
    authored: datetime | None
    authored_date: date | None
    subject: str | None
    reported_total: int | None
    score: Score
    status: str
    questionnaire: str | None = None
    id: str | None = None

    @property
    def total(self) -> int | None:
        """The recomputed total (``None`` when the record is invalid or has no total)."""
        return self.score.total

    @property
    def total_mismatch(self) -> bool:
        """Whether the sender reported a total that differs from the recomputed one.

        A reported total for a record that cannot be scored (``total`` is ``None``) is a
        mismatch too: the sender scored something that the rules do not allow.
        """
        return self.reported_total is not None and self.reported_total != self.total


class Administration(NamedTuple):
    """One administration to export with :func:`patient_bundle` (a plain tuple works too)."""

    instrument: str
    items: Mapping[str, int | None]
    authored: datetime


@dataclass(frozen=True)
class _Target:
    """What a response item stands for: an item of an instrument, or its total (key None)."""

    instrument: Instrument
    key: str | None


def _build_lookup() -> tuple[dict[str, _Target], dict[str, _Target]]:
    by_code: dict[str, _Target] = {}
    by_key: dict[str, _Target] = {}
    for instrument in INSTRUMENTS:
        for item in instrument.items:
            by_key[item.key] = _Target(instrument, item.key)
            if item.loinc is not None:
                by_code[item.loinc] = _Target(instrument, item.key)
        by_key[f"{instrument.id}_total"] = _Target(instrument, None)
        if instrument.loinc_total is not None:
            by_code[instrument.loinc_total] = _Target(instrument, None)
    return by_code, by_key


_BY_LOINC, _BY_KEY = _build_lookup()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def parse_questionnaire_response(
    resource: Mapping[str, Any], *, rules: Rules | None = None
) -> ParsedResponse:
    """Read one administration from a FHIR R4 ``QuestionnaireResponse``.

    Parameters
    ----------
    resource : Mapping
        The resource as parsed JSON (``json.loads`` output).
    rules : Rules, optional
        Rule settings used to recompute the total; the spec's rules by default.

    Returns
    -------
    ParsedResponse
        Instrument, answers keyed by our item keys, authored time, subject, the reported total
        and the recomputed score (``total_mismatch`` says whether the two disagree).

    Raises
    ------
    FhirError
        If the mapping is not a ``QuestionnaireResponse``, does not validate as FHIR, names no
        instrument that this library knows (neither by ``questionnaire`` nor by item codes),
        mixes items of two instruments, repeats an item, or has an answer that cannot be read
        as a whole number (an unknown answer code, a non-integral ``valueDecimal``, a
        ``valueString``, several answers to one item, ...). The message names the ``linkId``.

    Notes
    -----
    Items the instrument does not define (other questions on the same form, group headers)
    are ignored, as in scoring (scoring-spec §1.1).

    References
    ----------
    .. [1] HL7 FHIR R4 QuestionnaireResponse, https://hl7.org/fhir/R4/questionnaireresponse.html
    .. [2] SDC ``ordinalValue`` extension,
       http://hl7.org/fhir/StructureDefinition/ordinalValue
    """
    return _parse(resource, rules=rules, where="")


def parse_bundle(
    resource: Mapping[str, Any], *, rules: Rules | None = None
) -> list[ParsedResponse]:
    """Read every ``QuestionnaireResponse`` in a FHIR ``Bundle``, in entry order.

    Parameters
    ----------
    resource : Mapping
        A ``Bundle`` of any type (``collection``, ``searchset``, ``transaction``, ...) as
        parsed JSON.
    rules : Rules, optional
        Rule settings used to recompute totals.

    Returns
    -------
    list of ParsedResponse
        One per ``QuestionnaireResponse`` entry. Entries holding other resource types
        (``Observation``, ``Patient``, ``OperationOutcome``, ...) and entries without a
        resource are skipped unread: the totals in ``Observation`` entries are reported
        values, and the answers are re-scored instead.

    Raises
    ------
    FhirError
        If the mapping is not a valid ``Bundle``, or any ``QuestionnaireResponse`` in it cannot
        be read (see :func:`parse_questionnaire_response`); the message names the entry.

    References
    ----------
    .. [1] HL7 FHIR R4 Bundle, https://hl7.org/fhir/R4/bundle.html
    """
    _require_resource_type(resource, "Bundle", where="")
    entries = resource.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(f"Bundle.entry must be a list, got {type(entries).__name__}")
    # Only the Bundle itself is validated here; each QuestionnaireResponse is validated when it
    # is parsed, and skipped entries are not ours to judge.
    shell = {key: value for key, value in resource.items() if key != "entry"}
    shell["entry"] = [
        {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, Mapping) else entry
        for entry in entries
    ]
    _validate(Bundle, shell, original=resource)

    parsed: list[ParsedResponse] = []
    for index, entry in enumerate(entries):
        inner = entry.get("resource")
        if not isinstance(inner, Mapping) or inner.get("resourceType") != "QuestionnaireResponse":
            continue
        where = f"Bundle entry[{index}]"
        if entry.get("fullUrl"):
            where += f" (fullUrl {entry['fullUrl']!r})"
        parsed.append(_parse(inner, rules=rules, where=where + ": "))
    return parsed


def _parse(resource: Mapping[str, Any], *, rules: Rules | None, where: str) -> ParsedResponse:
    _require_resource_type(resource, "QuestionnaireResponse", where=where)
    authored = resource.get("authored")
    if isinstance(authored, str) and _TIME_WITHOUT_ZONE.search(authored):
        raise FhirError(
            f"{where}authored {authored!r} has a time but no time zone, which FHIR dateTime "
            "does not allow; the sender must add the offset (Z, +01:00, ...)"
        )
    model = _validate(
        QuestionnaireResponse, _without_item_codes(resource), original=resource, where=where
    )
    status = resource["status"]
    if status not in _QR_STATUSES:
        raise FhirError(
            f"{where}QuestionnaireResponse.status {status!r} is not an R4 status; expected one "
            f"of {', '.join(sorted(_QR_STATUSES))}"
        )

    found = [
        (target, item, place)
        for item, place in _walk(resource.get("item") or [], "item")
        if (target := _identify(item, place, where)) is not None
    ]
    questionnaire = resource.get("questionnaire")
    instrument = _choose_instrument(questionnaire, found, where)

    items: dict[str, int | None] = dict.fromkeys(instrument.item_keys)
    seen: dict[str | None, str] = {}
    reported_total: int | None = None
    for target, item, place in found:
        label = _label(item, place)
        if target.key in seen:
            what = target.key or f"the {instrument.name} total"
            raise FhirError(
                f"{where}{what} appears twice, at {seen[target.key]} and at {label}; send each "
                "item once"
            )
        seen[target.key] = label
        if target.key is None:
            reported_total = _read_total(item, instrument, f"{where}{label}")
        else:
            items[target.key] = _read_answer(item, instrument, target.key, f"{where}{label}")

    authored_at, authored_date = _read_authored(model.authored, where)
    subject = resource.get("subject") or {}
    return ParsedResponse(
        instrument=instrument.id,
        items=items,
        authored=authored_at,
        authored_date=authored_date,
        subject=subject.get("reference"),
        reported_total=reported_total,
        score=score(instrument, items, rules=rules),
        status=status,
        questionnaire=questionnaire,
        id=resource.get("id"),
    )


def _require_resource_type(resource: object, expected: str, *, where: str) -> None:
    if not isinstance(resource, Mapping):
        raise FhirError(
            f"{where}expected a FHIR {expected} as a JSON object (mapping), got "
            f"{type(resource).__name__}"
        )
    found = resource.get("resourceType")
    if found != expected:
        raise FhirError(f"{where}expected resourceType {expected!r}, got {found!r}")


def _without_item_codes(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a QuestionnaireResponse without the non-standard ``item.code`` elements."""

    def clean_items(items: object) -> object:
        if not isinstance(items, list):
            return items
        return [clean_item(item) for item in items]

    def clean_item(item: object) -> object:
        if not isinstance(item, Mapping):
            return item
        out = {key: value for key, value in item.items() if key != "code"}
        if "item" in out:
            out["item"] = clean_items(out["item"])
        if isinstance(out.get("answer"), list):
            out["answer"] = [
                {**answer, "item": clean_items(answer["item"])}
                if isinstance(answer, Mapping) and "item" in answer
                else answer
                for answer in out["answer"]
            ]
        return out

    copy = dict(resource)
    if "item" in copy:
        copy["item"] = clean_items(copy["item"])
    return copy


def _validate(
    model: type[_Model],
    data: Mapping[str, Any],
    *,
    original: Mapping[str, Any] | None = None,
    where: str = "",
) -> _Model:
    """Validate with fhir.resources, turning its errors into a FhirError that names places."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{_locate(original if original is not None else data, e['loc'])}: {e['msg']}"
            for e in error.errors()
        ]
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise FhirError(f"{where}not a valid FHIR R4 {model.__name__}: {shown}{more}") from None
    except (KeyError, TypeError, ValueError) as error:
        # fhir.resources raises a bare KeyError for an unknown nested resourceType.
        raise FhirError(f"{where}not a valid FHIR R4 {model.__name__}: {error!r}") from None


def _locate(data: object, loc: Sequence[int | str]) -> str:
    """A readable path for a pydantic error location, with the innermost item's linkId."""
    path = ""
    link_id: str | None = None
    node = data
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            if step == "root":
                continue
            path += f".{step}" if path else step
            node = node.get(step) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and isinstance(node.get("linkId"), str):
            link_id = node["linkId"]
    if link_id is not None:
        return f"{path or 'resource'} (in linkId {link_id!r})"
    return path or "resource"


def _walk(items: object, path: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every item, depth first, with its path: groups (item.item) and answer.item included."""
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        place = f"{path}[{index}]"
        yield item, place
        yield from _walk(item.get("item"), f"{place}.item")
        for number, answer in enumerate(item.get("answer") or []):
            yield from _walk(answer.get("item"), f"{place}.answer[{number}].item")


def _label(item: Mapping[str, Any], place: str) -> str:
    return f"linkId {item.get('linkId')!r} ({place})"


def _identify(item: Mapping[str, Any], place: str, where: str) -> _Target | None:
    """What an item stands for, from its ``code`` and its ``linkId``; None if nothing of ours."""
    # Keyed by (instrument id, item key): Instrument holds a dict and is not hashable.
    candidates: dict[tuple[str, str | None], tuple[_Target, str]] = {}
    codings = item.get("code")
    # item.code is not validated (it is not an R4 element), so its shape is checked here.
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, Mapping) or not isinstance(coding.get("code"), str):
            continue
        system, code = coding.get("system"), coding["code"]
        if system in (None, LOINC_SYSTEM) and code in _BY_LOINC:
            _add_candidate(candidates, _BY_LOINC[code], f"code {code!r}")
        elif system in (None, LOCAL_CODE_SYSTEM) and code in _BY_KEY:
            _add_candidate(candidates, _BY_KEY[code], f"code {code!r}")
    link_id = item.get("linkId")
    if isinstance(link_id, str):
        # LHC-Forms writes the code path of the item ("/44249-1/44250-9"): the last step is
        # the item's own code.
        segment = link_id.rstrip("/").rsplit("/", 1)[-1]
        for lookup in (_BY_LOINC, _BY_KEY):
            if segment in lookup:
                _add_candidate(candidates, lookup[segment], f"linkId {link_id!r}")
    if len(candidates) > 1:
        readings = ", ".join(
            f"{source} means {_describe(target)}" for target, source in candidates.values()
        )
        raise FhirError(
            f"{where}{_label(item, place)} is ambiguous: {readings}; make code and linkId agree"
        )
    return next((target for target, _source in candidates.values()), None)


def _add_candidate(
    candidates: dict[tuple[str, str | None], tuple[_Target, str]], target: _Target, source: str
) -> None:
    candidates.setdefault((target.instrument.id, target.key), (target, source))


def _describe(target: _Target) -> str:
    if target.key is None:
        return f"the {target.instrument.name} total"
    return f"{target.instrument.id} item {target.key}"


def _choose_instrument(
    questionnaire: object, found: Sequence[tuple[_Target, Mapping[str, Any], str]], where: str
) -> Instrument:
    by_items: dict[str, tuple[Instrument, str]] = {}
    for target, item, place in found:
        by_items.setdefault(target.instrument.id, (target.instrument, _label(item, place)))

    named = _instrument_from_canonical(questionnaire)
    if named is not None:
        others = {key: value for key, value in by_items.items() if key != named.id}
        if others:
            other, label = next(iter(others.values()))
            raise FhirError(
                f"{where}questionnaire {questionnaire!r} is {named.name}, but {label} is a "
                f"{other.name} item; send each instrument as its own QuestionnaireResponse"
            )
        return named
    if len(by_items) == 1:
        return next(iter(by_items.values()))[0]
    if len(by_items) > 1:
        names = ", ".join(f"{i.name} ({label})" for i, label in by_items.values())
        raise FhirError(
            f"{where}items of more than one instrument in one QuestionnaireResponse: {names}; "
            "send each instrument as its own QuestionnaireResponse"
        )
    panels = ", ".join(
        f"{i.loinc_panel} ({i.name})" for i in INSTRUMENTS if i.loinc_panel is not None
    )
    raise FhirError(
        f"{where}cannot tell which instrument this is: questionnaire {questionnaire!r} names "
        f"no known LOINC panel ({panels}) or {LOCAL_QUESTIONNAIRE_PREFIX}<id> canonical, and no "
        "item has a known LOINC item code or item key as linkId or code"
    )


def _instrument_from_canonical(questionnaire: object) -> Instrument | None:
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


def _answer_codes(instrument: Instrument, key: str) -> tuple[tuple[str, str], ...]:
    """(LOINC answer code, display) for values min_value, min_value+1, ... of one item."""
    if key in _ITEM_ANSWERS:
        return _ITEM_ANSWERS[key]
    return tuple(zip(instrument.answer_loinc, instrument.answer_labels, strict=True))


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
        if isinstance(extension, Mapping) and extension.get("url") in _ORDINAL_URLS:
            for value_key in ("valueDecimal", "valueInteger"):
                if value_key in extension:
                    return _whole_number(
                        extension[value_key], f"{what}: {extension['url']} {value_key}"
                    )
    return None


def _read_answer(
    item: Mapping[str, Any], instrument: Instrument, key: str, what: str
) -> int | None:
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
        codes = _answer_codes(instrument, key)
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


def _read_total(item: Mapping[str, Any], instrument: Instrument, what: str) -> int | None:
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


def _read_authored(value: object, where: str) -> tuple[datetime | None, date | None]:
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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def questionnaire_response(
    instrument: str | Instrument,
    items: Mapping[str, int | None],
    *,
    authored: datetime,
    subject: str,
    id: str | None = None,
) -> QuestionnaireResponse:
    """Write one administration as a FHIR R4 ``QuestionnaireResponse``.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    items : Mapping of str to int or None
        Item key to answer. ``None`` and absent keys are unanswered and are left out of the
        resource; keys the instrument does not define are ignored (scoring-spec §1.1).
    authored : datetime
        When the answers were given; must be timezone-aware (a FHIR dateTime with a time must
        carry a zone).
    subject : str
        Reference to the patient, for example ``"Patient/123"``.
    id : str, optional
        Logical id of the resource.

    Returns
    -------
    QuestionnaireResponse
        A validated ``fhir.resources`` model with status ``completed``. PHQ-9 and GAD-7 use
        the LOINC panel canonical ``http://loinc.org/q/<panel>``, LOINC item codes as
        ``linkId`` and answers as LOINC ``valueCoding`` with display and an
        ``ordinalValue`` extension; other instruments use ``urn:clinic:outcomes:
        questionnaire:<id>``, item keys as ``linkId`` and ``valueInteger``. No total is
        written here: the total is derived, and goes in :func:`total_observation`.

    Raises
    ------
    FhirError
        For a naive ``authored``, or an answer that is not a whole number inside the
        instrument's range (there is no answer code to write for it).
    UnknownInstrumentError
        For an unknown instrument id.

    References
    ----------
    .. [1] HL7 FHIR R4 QuestionnaireResponse, https://hl7.org/fhir/R4/questionnaireresponse.html
    .. [2] LOINC 44249-1 (PHQ-9) and 69737-5 (GAD-7) panels and answer list LL358-3.
    """
    spec = get_instrument(instrument)
    _require_aware(authored, "authored")
    answered = []
    for item in spec.items:
        value = items.get(item.key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise FhirError(
                f"{spec.name} {item.key} is {value!r}; answers to write must be whole numbers"
            )
        if not spec.min_value <= value <= spec.max_value:
            raise FhirError(
                f"{spec.name} {item.key} is {value}, outside {spec.min_value}-{spec.max_value}; "
                "correct the answer before exporting it"
            )
        entry: dict[str, Any] = {
            "linkId": item.loinc or item.key,
            "text": item.text or item.short_name,
        }
        if item.loinc is not None:
            code, display = _answer_codes(spec, item.key)[value - spec.min_value]
            entry["answer"] = [
                {
                    "valueCoding": {
                        "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": value}],
                        "system": LOINC_SYSTEM,
                        "code": code,
                        "display": display,
                    }
                }
            ]
        else:
            entry["answer"] = [{"valueInteger": value}]
        answered.append(entry)

    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": _canonical(spec),
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored.isoformat(),
    }
    if id is not None:
        resource["id"] = id
    if answered:
        resource["item"] = answered
    return _validate(QuestionnaireResponse, resource)


def total_observation(
    instrument: str | Instrument,
    answers: Mapping[str, int | None] | Score,
    *,
    authored: datetime,
    subject: str,
    derived_from: str | None = None,
    id: str | None = None,
    rules: Rules | None = None,
) -> Observation:
    """Write the total score of one administration as a FHIR R4 ``Observation``.

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    answers : Mapping of str to int or None, or Score
        The item answers (scored here with :func:`outcomes.scoring.score`), or a
        :class:`~outcomes.scoring.Score` already computed for this instrument.
    authored : datetime
        When the answers were given (``effectiveDateTime``); must be timezone-aware.
    subject : str
        Reference to the patient, for example ``"Patient/123"``.
    derived_from : str, optional
        Reference to the ``QuestionnaireResponse`` the total was computed from (a relative
        reference such as ``"QuestionnaireResponse/1"`` or a Bundle ``urn:uuid:`` fullUrl).
    id : str, optional
        Logical id of the resource.
    rules : Rules, optional
        Rule settings used when ``answers`` are item answers.

    Returns
    -------
    Observation
        A validated model: status ``final``, category ``survey``, code LOINC 44261-6 (PHQ-9)
        or 70274-6 (GAD-7), otherwise ``urn:clinic:outcomes|<id>_total``; ``valueQuantity``
        with UCUM unit ``{score}``. A prorated total carries a ``note`` saying so.

    Raises
    ------
    FhirError
        If the instrument has no total (the C-SSRS screener) or the record is invalid (its
        total is ``None``); the message gives the scoring errors. Also for a naive
        ``authored``.

    References
    ----------
    .. [1] HL7 FHIR R4 Observation, https://hl7.org/fhir/R4/observation.html
    .. [2] LOINC 44261-6 "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]";
       70274-6 "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]".
    """
    spec = get_instrument(instrument)
    _require_aware(authored, "authored")
    if not spec.has_total:
        raise FhirError(
            f"{spec.name} has no total score, so there is no total Observation to write; export "
            "its QuestionnaireResponse alone"
        )
    result = answers if isinstance(answers, Score) else score(spec, answers, rules=rules)
    if result.total is None:
        reasons = "; ".join(result.errors) or "no total was computed"
        raise FhirError(
            f"cannot write a total Observation for an invalid {spec.name} record: {reasons}"
        )

    if spec.loinc_total is not None:
        coding = {
            "system": LOINC_SYSTEM,
            "code": spec.loinc_total,
            "display": _TOTAL_DISPLAY.get(spec.loinc_total, f"{spec.name} total score"),
        }
    else:
        coding = {
            "system": LOCAL_CODE_SYSTEM,
            "code": f"{spec.id}_total",
            "display": f"{spec.name} total score",
        }
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}
                ]
            }
        ],
        "code": {"coding": [coding], "text": f"{spec.name} total score"},
        "subject": {"reference": subject},
        "effectiveDateTime": authored.isoformat(),
        "valueQuantity": {
            "value": result.total,
            "unit": "{score}",
            "system": UCUM_SYSTEM,
            "code": "{score}",
        },
    }
    if id is not None:
        resource["id"] = id
    if derived_from is not None:
        resource["derivedFrom"] = [{"reference": derived_from}]
    if PRORATED in result.flags:
        resource["note"] = [
            {
                "text": (
                    "Prorated total: missing items were replaced by the mean of the answered "
                    "items (round half up)."
                )
            }
        ]
    return _validate(Observation, resource)


def patient_bundle(
    administrations: Iterable[Administration | tuple[str, Mapping[str, int | None], datetime]],
    *,
    subject: str,
    timestamp: datetime | None = None,
    rules: Rules | None = None,
) -> Bundle:
    """Write one patient's administrations as a FHIR ``collection`` Bundle.

    Parameters
    ----------
    administrations : iterable of Administration or (instrument, items, authored)
        The administrations, in the order they should appear.
    subject : str
        Reference to the patient, for example ``"Patient/123"``; used for every resource.
    timestamp : datetime, optional
        When the Bundle was assembled (``Bundle.timestamp``); timezone-aware. Left out by
        default so that the same input always gives the same Bundle.
    rules : Rules, optional
        Rule settings used to compute the totals.

    Returns
    -------
    Bundle
        For each administration a ``QuestionnaireResponse`` entry and, when the instrument has
        a total and the record is valid, a total ``Observation`` entry whose ``derivedFrom``
        is the response's fullUrl. fullUrls are ``urn:uuid:`` UUIDs derived (UUID5) from
        subject, instrument and authored time, so a re-export gives the same ids. Invalid
        records are exported with their answers only: the answers are the source of truth.

    Raises
    ------
    FhirError
        If two administrations share instrument and authored time (they would have the same
        fullUrl), or an administration cannot be written (see
        :func:`questionnaire_response`).

    References
    ----------
    .. [1] HL7 FHIR R4 Bundle (type ``collection``; fullUrl and resolving ``urn:uuid:``
       references inside a Bundle), https://hl7.org/fhir/R4/bundle.html
    """
    entries: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for instrument, items, authored in administrations:
        spec = get_instrument(instrument)
        _require_aware(authored, "authored")
        response_id = uuid.uuid5(_UUID_NAMESPACE, f"{subject}|{spec.id}|{authored.isoformat()}")
        if response_id in seen:
            raise FhirError(
                f"two {spec.name} administrations for {subject} authored at "
                f"{authored.isoformat()}; each administration must be exported once"
            )
        seen.add(response_id)
        response = questionnaire_response(spec, items, authored=authored, subject=subject)
        entries.append(
            {
                "fullUrl": response_id.urn,
                "resource": response.model_dump(mode="json", exclude_none=True),
            }
        )
        result = score(spec, items, rules=rules)
        if spec.has_total and result.total is not None:
            observation = total_observation(
                spec, result, authored=authored, subject=subject, derived_from=response_id.urn
            )
            entries.append(
                {
                    "fullUrl": uuid.uuid5(response_id, "total").urn,
                    "resource": observation.model_dump(mode="json", exclude_none=True),
                }
            )

    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if timestamp is not None:
        _require_aware(timestamp, "timestamp")
        bundle["timestamp"] = timestamp.isoformat()
    if entries:
        bundle["entry"] = entries
    return _validate(Bundle, bundle)


def _canonical(instrument: Instrument) -> str:
    if instrument.loinc_panel is not None:
        return f"{LOINC_QUESTIONNAIRE_PREFIX}{instrument.loinc_panel}"
    return f"{LOCAL_QUESTIONNAIRE_PREFIX}{instrument.id}"


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise FhirError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FhirError(
            f"{name} {moment.isoformat()} has no time zone; FHIR requires one whenever a time is "
            "given. Pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
        )
