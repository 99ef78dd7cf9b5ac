"""Read questionnaire administrations from FHIR R4 ``QuestionnaireResponse`` and ``Bundle``.

Real systems identify PHQ-9 and GAD-7 items in several ways, and all of them are read:

* the LOINC item code as ``linkId``, bare (``"44250-9"``) or as the LHC-Forms path
  (``"/44250-9"``, ``"/44249-1/44250-9"``);
* our own item key as ``linkId`` (``"phq9_1"``), which is also how the instruments without
  LOINC codes are written;
* a LOINC ``code`` on the response item with an opaque ``linkId`` (``"q1"``). R4
  ``QuestionnaireResponse.item`` has no ``code`` element (only ``Questionnaire.item`` does),
  but some form tools copy it across anyway.

Items may be nested in groups (``item.item``) or under answers (``answer.item``). How an
answer becomes a number is :mod:`outcomes.fhir.answers`. The instrument comes from the
``questionnaire`` canonical when that names a LOINC panel (``44249-1``, ``69737-5``) or one of
our own ``urn:clinic:outcomes:questionnaire:<id>`` canonicals, and otherwise from the items'
codes. A total found in the resource is *reported*, never trusted: the total is recomputed with
:func:`outcomes.scoring.score` and a disagreement is reported, not resolved.

References
----------
.. [1] HL7 FHIR R4 (4.0.1), QuestionnaireResponse.
   https://hl7.org/fhir/R4/questionnaireresponse.html
.. [2] HL7 FHIR R4 (4.0.1), Bundle. https://hl7.org/fhir/R4/bundle.html
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from outcomes.errors import FhirError
from outcomes.fhir.answers import read_answer, read_authored, read_total
from outcomes.fhir.codes import (
    BY_KEY,
    BY_LOINC,
    LOCAL_CODE_SYSTEM,
    LOCAL_QUESTIONNAIRE_PREFIX,
    LOINC_SYSTEM,
    QR_STATUSES,
    Target,
    instrument_from_canonical,
)
from outcomes.fhir.validation import require_resource_type, validate, without_item_codes
from outcomes.instruments import INSTRUMENTS, Instrument
from outcomes.rules import Rules
from outcomes.scoring import Score, score

__all__ = ["ParsedResponse", "parse_bundle", "parse_questionnaire_response"]

_TIME_WITHOUT_ZONE = re.compile(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


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
    require_resource_type(resource, "Bundle", where="")
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
    validate(Bundle, shell, original=resource)

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
    require_resource_type(resource, "QuestionnaireResponse", where=where)
    authored = resource.get("authored")
    if isinstance(authored, str) and _TIME_WITHOUT_ZONE.search(authored):
        raise FhirError(
            f"{where}authored {authored!r} has a time but no time zone, which FHIR dateTime "
            "does not allow; the sender must add the offset (Z, +01:00, ...)"
        )
    model = validate(
        QuestionnaireResponse, without_item_codes(resource), original=resource, where=where
    )
    status = resource["status"]
    if status not in QR_STATUSES:
        raise FhirError(
            f"{where}QuestionnaireResponse.status {status!r} is not an R4 status; expected one "
            f"of {', '.join(sorted(QR_STATUSES))}"
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
            reported_total = read_total(item, instrument, f"{where}{label}")
        else:
            items[target.key] = read_answer(item, instrument, target.key, f"{where}{label}")

    authored_at, authored_date = read_authored(model.authored, where)
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


def _identify(item: Mapping[str, Any], place: str, where: str) -> Target | None:
    """What an item stands for, from its ``code`` and its ``linkId``; None if nothing of ours."""
    # Keyed by (instrument id, item key): Instrument holds a dict and is not hashable.
    candidates: dict[tuple[str, str | None], tuple[Target, str]] = {}
    codings = item.get("code")
    # item.code is not validated (it is not an R4 element), so its shape is checked here.
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, Mapping) or not isinstance(coding.get("code"), str):
            continue
        system, code = coding.get("system"), coding["code"]
        if system in (None, LOINC_SYSTEM) and code in BY_LOINC:
            _add_candidate(candidates, BY_LOINC[code], f"code {code!r}")
        elif system in (None, LOCAL_CODE_SYSTEM) and code in BY_KEY:
            _add_candidate(candidates, BY_KEY[code], f"code {code!r}")
    link_id = item.get("linkId")
    if isinstance(link_id, str):
        # LHC-Forms writes the code path of the item ("/44249-1/44250-9"): the last step is
        # the item's own code.
        segment = link_id.rstrip("/").rsplit("/", 1)[-1]
        for lookup in (BY_LOINC, BY_KEY):
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
    candidates: dict[tuple[str, str | None], tuple[Target, str]], target: Target, source: str
) -> None:
    candidates.setdefault((target.instrument.id, target.key), (target, source))


def _describe(target: Target) -> str:
    if target.key is None:
        return f"the {target.instrument.name} total"
    return f"{target.instrument.id} item {target.key}"


def _choose_instrument(
    questionnaire: object, found: Sequence[tuple[Target, Mapping[str, Any], str]], where: str
) -> Instrument:
    by_items: dict[str, tuple[Instrument, str]] = {}
    for target, item, place in found:
        by_items.setdefault(target.instrument.id, (target.instrument, _label(item, place)))

    named = instrument_from_canonical(questionnaire)
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
