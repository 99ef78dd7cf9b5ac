"""One patient's course on one instrument: baseline, response, remission, relapse, durability.

Implements ``shared/clinical/scoring-spec.md`` §3 (normative algorithm) and §4 (change metrics).

References
----------
.. [1] Trivedi MH et al. Evaluation of outcomes with citalopram for depression using
   measurement-based care in STAR*D. Am J Psychiatry. 2006;163(1):28-40.
   doi:10.1176/appi.ajp.163.1.28 (response >= 50% reduction; QIDS-SR remission <= 5).
.. [2] Daly EJ et al. Efficacy of esketamine nasal spray plus oral antidepressant treatment
   for relapse prevention (SUSTAIN-1). JAMA Psychiatry. 2019;76(9):893-903.
   doi:10.1001/jamapsychiatry.2019.1189 (relapse confirmed on two consecutive assessments).
.. [3] Jacobson NS, Truax P. Clinical significance. J Consult Clin Psychol. 1991;59(1):12-19.
.. [4] Löwe B, Unützer J, Callahan CM, Perkins AJ, Kroenke K. Monitoring depression treatment
   outcomes with the PHQ-9. Med Care. 2004;42(12):1194-1201 (MCID 5 points).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from outcomes.errors import ScoringError
from outcomes.instruments import Instrument, get_instrument
from outcomes.rules import DEFAULT_RULES, InstrumentRules, Rules

DateLike = dt.date | str


@dataclass(frozen=True)
class Trajectory:
    """Outcome of one patient's course on one instrument (spec §3).

    Attributes
    ----------
    baseline_total : int or None
        Total of the last valid assessment on or before the index date; known even when
        there is no follow-up yet (the other fields are then null, as spec §3 says).
    response_date : date or None
        First post-baseline assessment with a >= 50% reduction from baseline.
    remission_date : date or None
        First post-baseline assessment meeting the remission criterion (``None`` when the
        baseline already met it: not eligible).
    days_to_response : int or None
        Calendar days from the index date (first infusion) to ``response_date``.
    relapse_date : date or None
        First of two consecutive post-response assessments that lost response and are at or
        above the relapse floor.
    durable_response_days : int or None
        Days from response to relapse, or to the last post-baseline assessment if no relapse
        (then right-censored); ``None`` without a response.
    censored : bool
        A response without a relapse (so durability is a lower bound).
    """

    baseline_total: int | None
    response_date: dt.date | None
    remission_date: dt.date | None
    days_to_response: int | None
    relapse_date: dt.date | None
    durable_response_days: int | None
    censored: bool


_NO_OUTCOME = Trajectory(None, None, None, None, None, None, False)


def as_date(value: object, *, what: str = "date") -> dt.date:
    """Read a ``datetime.date`` or an ISO ``YYYY-MM-DD`` string (a datetime keeps its date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise ScoringError(f"{what} must be a date or an ISO 'YYYY-MM-DD' string, got {value!r}")


def is_response(total: int, baseline_total: int, *, min_drop: Fraction = Fraction(1, 2)) -> bool:
    """Whether ``total`` is at least ``min_drop`` below a positive baseline.

    Exact rational arithmetic: with the default 1/2 this is ``2*total <= baseline``, so a
    baseline of 15 needs a total of 7 (8 > 7.5 is not a response). Spec §3, STAR*D [1]_.
    """
    if baseline_total <= 0:
        return False
    keep = 1 - min_drop
    return total * keep.denominator <= baseline_total * keep.numerator


def is_remission(total: int, rules: InstrumentRules) -> bool:
    """Whether a total meets the instrument's remission criterion (spec §3 table)."""
    return rules.remission_max_total is not None and total <= rules.remission_max_total


def _lost_response(
    total: int, baseline_total: int, rules: InstrumentRules, min_drop: Fraction
) -> bool:
    """Relapse-qualifying: no longer a response and back at or above the floor (spec §3 [D])."""
    floor = rules.relapse_floor
    return (
        floor is not None
        and total >= floor
        and not is_response(total, baseline_total, min_drop=min_drop)
    )


def relapse_date_after(
    after: list[tuple[dt.date, int]],
    baseline_total: int,
    instrument_rules: InstrumentRules,
    rules: Rules,
) -> dt.date | None:
    """Spec §3's relapse among the dated totals ``after`` a response date, or None.

    ``rules.relapse_confirmations`` *consecutive* valid scores that have lost response and
    are at or above the instrument's relapse floor, dated at the first of them (SUSTAIN-1,
    adapted). Every response episode uses this one rule (:mod:`outcomes.episodes`).
    """
    needed = rules.relapse_confirmations
    run = 0
    for position, (_, total) in enumerate(after):
        lost = _lost_response(total, baseline_total, instrument_rules, rules.response_min_drop)
        run = run + 1 if lost else 0
        if run == needed:
            return after[position - needed + 1][0]
    return None


def dated_totals(assessments: Iterable[tuple[DateLike, int | None]]) -> list[tuple[dt.date, int]]:
    """The valid totals as ``(date, total)``, in date then total order; ``None`` (an invalid
    form) counts for nothing. Raises :class:`ScoringError` for a total that is not whole."""
    valid: list[tuple[dt.date, int]] = []
    for when, total in assessments:
        if total is None:
            continue
        if isinstance(total, bool) or not isinstance(total, int):
            raise ScoringError(f"assessment totals must be whole numbers or None, got {total!r}")
        valid.append((as_date(when, what="assessment date"), total))
    valid.sort()
    return valid


def trajectory(
    instrument: str | Instrument,
    *,
    baseline_date: DateLike,
    assessments: Iterable[tuple[DateLike, int | None]],
    rules: Rules | None = None,
) -> Trajectory:
    """Baseline, response, remission, relapse and durability of one patient (spec §3).

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    baseline_date : date or str
        The index date: the date of the first ketamine/esketamine treatment.
    assessments : iterable of (date or str, int or None)
        Dated totals in any order; ``None`` marks an invalid or unscored assessment.
    rules : Rules, optional
        Rule settings; the spec's rules by default.

    Returns
    -------
    Trajectory

    Notes
    -----
    * Baseline is the last valid assessment on or before the index date [D]: an assessment
      dated on the index date is presumed pre-infusion.
    * Response and remission use a single assessment, so rapid ketamine effects are caught
      [D]; remission is independent of response and not eligible when baseline already
      remits.
    * Relapse adapts SUSTAIN-1 [2]_: two *consecutive* valid post-response assessments that
      have lost response (> 50% of baseline) *and* are at or above the instrument's relapse
      floor, dated at the first of the pair. Only the first response and relapse are reported.
    * Dates closer than one day are not distinguished; each date should appear at most once.

    References
    ----------
    See the module docstring.
    """
    definition = get_instrument(instrument)
    all_rules = rules or DEFAULT_RULES
    instrument_rules = all_rules.for_instrument(definition)
    index_date = as_date(baseline_date, what="baseline_date")
    valid = dated_totals(assessments)

    pre = [a for a in valid if a[0] <= index_date]
    post = [a for a in valid if a[0] > index_date]
    if not pre:
        return _NO_OUTCOME
    baseline_total = pre[-1][1]
    if not post:
        # The outcome fields of spec §3 are all null, but the baseline itself is known.
        return replace(_NO_OUTCOME, baseline_total=baseline_total)
    min_drop = all_rules.response_min_drop

    response_date = next(
        (day for day, total in post if is_response(total, baseline_total, min_drop=min_drop)),
        None,
    )
    remission_date = None
    if not is_remission(baseline_total, instrument_rules):
        remission_date = next(
            (day for day, total in post if is_remission(total, instrument_rules)), None
        )

    relapse_date = None
    durable_response_days = None
    if response_date is not None:
        after = [a for a in post if a[0] > response_date]
        relapse_date = relapse_date_after(after, baseline_total, instrument_rules, all_rules)
        end = relapse_date if relapse_date is not None else post[-1][0]
        durable_response_days = (end - response_date).days

    return Trajectory(
        baseline_total=baseline_total,
        response_date=response_date,
        remission_date=remission_date,
        days_to_response=(response_date - index_date).days if response_date else None,
        relapse_date=relapse_date,
        durable_response_days=durable_response_days,
        censored=response_date is not None and relapse_date is None,
    )


ReliableChange = Literal["improved", "deteriorated", "none"]


@dataclass(frozen=True)
class Change:
    """Change from baseline to a follow-up (spec §4).

    Attributes
    ----------
    change : int
        ``followup - baseline`` (negative is improvement).
    reliable_change : {"improved", "deteriorated", "none"}
        Against the instrument's fixed reliable-change threshold (PHQ-9 6, GAD-7 4 points;
        NHS Talking Therapies). ``"none"`` when the instrument has no threshold.
    mcid_improvement : bool or None
        Improvement of at least the minimal clinically important difference (PHQ-9 5 points,
        Löwe et al. 2004 [4]_); ``None`` for instruments without an MCID.
    """

    change: int
    reliable_change: ReliableChange
    mcid_improvement: bool | None


def reliable_change(
    instrument: str | Instrument,
    baseline_total: int,
    followup_total: int,
    *,
    rules: Rules | None = None,
) -> Change:
    """Classify the change between two totals (spec §4).

    Parameters
    ----------
    instrument : str or Instrument
        Instrument id or registry entry.
    baseline_total, followup_total : int
        The two totals.
    rules : Rules, optional
        Rule settings (``reliable_change_points``, ``mcid_points``).

    Returns
    -------
    Change

    Notes
    -----
    ``improved`` when ``baseline - followup >= threshold``, ``deteriorated`` when
    ``followup - baseline >= threshold``, otherwise ``none``. QIDS-SR16 and MADRS have no
    default threshold, so their change is always ``none`` unless a clinic configures one
    (with its own SD and reliability, as Jacobson & Truax [3]_ require). For a
    Jacobson-Truax index use :func:`reliable_change_index`.
    """
    definition = get_instrument(instrument)
    for name, value in (("baseline_total", baseline_total), ("followup_total", followup_total)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScoringError(f"{name} must be a whole number, got {value!r}")
    instrument_rules = (rules or DEFAULT_RULES).for_instrument(definition)
    threshold = instrument_rules.reliable_change_points
    change = followup_total - baseline_total
    category: ReliableChange = "none"
    if threshold is not None:
        if -change >= threshold:
            category = "improved"
        elif change >= threshold:
            category = "deteriorated"
    mcid = instrument_rules.mcid_points
    return Change(
        change=change,
        reliable_change=category,
        mcid_improvement=None if mcid is None else -change >= mcid,
    )


def reliable_change_index(
    baseline_total: float, followup_total: float, *, sd_baseline: float, reliability: float
) -> float:
    """Jacobson-Truax reliable change index ``(x2 - x1) / S_diff`` [3]_.

    ``S_diff = sqrt(2) * SE`` and ``SE = sd_baseline * sqrt(1 - reliability)``. Change is
    reliable when ``abs(RCI) > 1.96``. A clinic supplies its own ``sd_baseline`` and
    ``reliability`` (spec §4: the values behind the fixed PHQ-9 threshold were not retrieved).
    """
    if sd_baseline <= 0 or not 0 <= reliability < 1:
        raise ScoringError("sd_baseline must be positive and reliability in [0, 1)")
    standard_error = sd_baseline * (1 - reliability) ** 0.5
    return float((followup_total - baseline_total) / (2**0.5 * standard_error))
