"""Spec-derived golden tests for ``outcomes.trajectory`` and ``outcomes.reliable_change``.

Expected values come from ``/work/shared/clinical/scoring-spec.md`` (v1) §3 (longitudinal
outcomes, normative algorithm) and §4 (change metrics), never from the implementation. Dates are
written as day offsets from the index date so the tables stay readable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from outcomes import reliable_change, trajectory
from outcomes.rules import DEFAULT_RULES

INDEX_DATE = date(2024, 3, 1)
UNSET = object()  # "do not check this field"


def day(offset: int) -> date:
    """The date ``offset`` calendar days after the index date."""
    return INDEX_DATE + timedelta(days=offset)


def iso(offset: int) -> str:
    return day(offset).isoformat()


def run(instrument: str, visits: list[tuple[int, int | None]], **kwargs: Any) -> Any:
    """``trajectory`` with ISO-string dates given as day offsets from the index date."""
    return trajectory(
        instrument,
        baseline_date=INDEX_DATE.isoformat(),
        assessments=[(iso(offset), total) for offset, total in visits],
        **kwargs,
    )


def check(
    result: Any,
    *,
    baseline_total: object = UNSET,
    response: int | None,
    remission: int | None,
    relapse: int | None,
    durable: int | None,
    censored: bool,
) -> None:
    """Compare a Trajectory with expected day offsets (``None`` = null)."""
    if baseline_total is not UNSET:
        assert result.baseline_total == baseline_total
    assert result.response_date == (None if response is None else day(response))
    assert result.days_to_response == response
    assert result.remission_date == (None if remission is None else day(remission))
    assert result.relapse_date == (None if relapse is None else day(relapse))
    assert result.durable_response_days == durable
    assert result.censored is censored


# ---------------------------------------------------------------------------------------------
# Golden table: (id, instrument, visits, baseline_total, response, remission, relapse, durable,
# censored). Offsets in days from the index date; None = null.
# ---------------------------------------------------------------------------------------------

NO_OUTCOME = {"response": None, "remission": None, "relapse": None, "durable": None}

TRAJECTORY_CASES: list[tuple[str, str, list[tuple[int, int | None]], dict[str, object]]] = [
    # --- baseline selection --------------------------------------------------------------
    (
        "baseline is the LAST pre assessment (20), not the earlier screening (12)",
        "phq9",
        [(-14, 12), (-2, 20), (14, 9)],
        {"baseline_total": 20, "response": 14, "remission": None, "relapse": None,
         "durable": 0, "censored": True},
    ),
    (
        "baseline is the LAST pre assessment (12): 9 is then not a response",
        "phq9",
        [(-14, 20), (-2, 12), (14, 9)],
        {"baseline_total": 12, **NO_OUTCOME, "censored": False},
    ),
    (
        "an assessment dated on the index date is the baseline",
        "phq9",
        [(-10, 25), (0, 18), (7, 9)],
        {"baseline_total": 18, "response": 7, "remission": None, "relapse": None,
         "durable": 0, "censored": True},
    ),
    (
        "null totals are skipped when choosing the baseline",
        "phq9",
        [(-7, 20), (0, None), (7, 10)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": None,
         "durable": 0, "censored": True},
    ),
    # --- missing pre or post ---------------------------------------------------------------
    (
        "no pre assessment: all outputs null",
        "phq9",
        [(1, 20), (10, 5), (20, 2)],
        {"baseline_total": None, **NO_OUTCOME, "censored": False},
    ),
    (
        "pre assessments all have null totals: all outputs null",
        "phq9",
        [(-3, None), (0, None), (7, 5), (14, 2)],
        {"baseline_total": None, **NO_OUTCOME, "censored": False},
    ),
    (
        "no assessments at all",
        "phq9",
        [],
        {"baseline_total": None, **NO_OUTCOME, "censored": False},
    ),
    (
        "no post assessment: all outputs null",
        "phq9",
        [(-7, 20), (0, 18)],
        {**NO_OUTCOME, "censored": False},
    ),
    (
        "assessment on the index date is not post: all outputs null",
        "phq9",
        [(-5, 18), (0, 4)],
        {**NO_OUTCOME, "censored": False},
    ),
    (
        "post assessments all have null totals: all outputs null",
        "phq9",
        [(0, 20), (7, None), (14, None)],
        {**NO_OUTCOME, "censored": False},
    ),
    # --- response --------------------------------------------------------------------------
    (
        "odd baseline 15: 8 is NOT a response (8 > 7.5)",
        "phq9",
        [(0, 15), (7, 8)],
        {"baseline_total": 15, **NO_OUTCOME, "censored": False},
    ),
    (
        "odd baseline 15: 7 is a response",
        "phq9",
        [(0, 15), (7, 8), (14, 7)],
        {"baseline_total": 15, "response": 14, "remission": None, "relapse": None,
         "durable": 0, "censored": True},
    ),
    (
        "even baseline 16: exactly 50% (8) is a response",
        "phq9",
        [(0, 16), (7, 8)],
        {"baseline_total": 16, "response": 7, "remission": None, "relapse": None,
         "durable": 0, "censored": True},
    ),
    (
        "response is the FIRST qualifying post assessment",
        "phq9",
        [(0, 21), (7, 11), (14, 10), (21, 6), (28, 9)],
        {"baseline_total": 21, "response": 14, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "baseline 0: response undefined, remission not eligible",
        "phq9",
        [(0, 0), (7, 0), (14, 0)],
        {"baseline_total": 0, **NO_OUTCOME, "censored": False},
    ),
    # --- remission -------------------------------------------------------------------------
    (
        "remission without response (6 -> 4)",
        "phq9",
        [(0, 6), (7, 4)],
        {"baseline_total": 6, "response": None, "remission": 7, "relapse": None,
         "durable": None, "censored": False},
    ),
    (
        "remission after response",
        "phq9",
        [(0, 20), (7, 10), (14, 4)],
        {"baseline_total": 20, "response": 7, "remission": 14, "relapse": None,
         "durable": 7, "censored": True},
    ),
    (
        "one assessment is both response and remission",
        "phq9",
        [(0, 20), (7, 3)],
        {"baseline_total": 20, "response": 7, "remission": 7, "relapse": None,
         "durable": 0, "censored": True},
    ),
    (
        "baseline 4 already meets remission: not eligible, response still counted",
        "phq9",
        [(0, 4), (7, 0), (14, 2)],
        {"baseline_total": 4, "response": 7, "remission": None, "relapse": None,
         "durable": 7, "censored": True},
    ),
    (
        "baseline 5 does not meet remission (< 5): eligible",
        "phq9",
        [(0, 5), (7, 4)],
        {"baseline_total": 5, "response": None, "remission": 7, "relapse": None,
         "durable": None, "censored": False},
    ),
    # --- relapse ---------------------------------------------------------------------------
    (
        "relapse on two consecutive qualifying assessments, dated at the first; remission later",
        "phq9",
        [(0, 20), (7, 8), (14, 12), (21, 14), (28, 3)],
        {"baseline_total": 20, "response": 7, "remission": 28, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "single qualifying assessment followed by a non-qualifying one is not relapse",
        "phq9",
        [(0, 20), (7, 8), (14, 12), (21, 9), (28, 12)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": None,
         "durable": 21, "censored": True},
    ),
    (
        "exactly 50% of baseline (10 of 20) is not a loss of response",
        "phq9",
        [(0, 20), (7, 8), (14, 10), (21, 10)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "11 and 11 of baseline 20 is relapse",
        "phq9",
        [(0, 20), (7, 8), (14, 11), (21, 11)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "PHQ-9 floor 10: 9 and 9 (> 50% of baseline 12) is not relapse",
        "phq9",
        [(0, 12), (7, 6), (14, 9), (21, 9)],
        {"baseline_total": 12, "response": 7, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "PHQ-9 floor 10: 10 and 10 is relapse",
        "phq9",
        [(0, 12), (7, 6), (14, 10), (21, 10)],
        {"baseline_total": 12, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "GAD-7 floor 10: 9 and 9 is not relapse",
        "gad7",
        [(0, 16), (7, 8), (14, 9), (21, 9)],
        {"baseline_total": 16, "response": 7, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "GAD-7 floor 10: 10 and 10 is relapse",
        "gad7",
        [(0, 16), (7, 8), (14, 10), (21, 10)],
        {"baseline_total": 16, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "QIDS-SR16 floor 11: 10 and 10 is not relapse",
        "qids_sr16",
        [(0, 18), (7, 9), (14, 10), (21, 10)],
        {"baseline_total": 18, "response": 7, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "QIDS-SR16 floor 11: 11 and 11 is relapse",
        "qids_sr16",
        [(0, 18), (7, 9), (14, 11), (21, 11)],
        {"baseline_total": 18, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "MADRS floor 22 (SUSTAIN-1): 21 and 21 is not relapse",
        "madrs",
        [(0, 40), (7, 20), (14, 21), (21, 21)],
        {"baseline_total": 40, "response": 7, "remission": None, "relapse": None,
         "durable": 14, "censored": True},
    ),
    (
        "MADRS floor 22 (SUSTAIN-1): 22 and 22 is relapse",
        "madrs",
        [(0, 40), (7, 20), (14, 22), (21, 22)],
        {"baseline_total": 40, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "null totals are removed, so they do not break consecutiveness",
        "phq9",
        [(0, 20), (7, 8), (14, 12), (21, None), (28, 13)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "a trailing null total is not the last post date for censoring",
        "phq9",
        [(0, 20), (7, 8), (14, 9), (21, None)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": None,
         "durable": 7, "censored": True},
    ),
    (
        "qualifying totals before the response do not count towards relapse",
        "phq9",
        [(0, 20), (7, 15), (14, 15), (21, 10), (28, 12)],
        {"baseline_total": 20, "response": 21, "remission": None, "relapse": None,
         "durable": 7, "censored": True},
    ),
    (
        "only the first relapse is reported; re-response does not change the fields",
        "phq9",
        [(0, 20), (7, 8), (14, 12), (21, 12), (28, 6), (35, 14), (42, 14)],
        {"baseline_total": 20, "response": 7, "remission": None, "relapse": 14,
         "durable": 7, "censored": False},
    ),
    (
        "relapse is the first qualifying PAIR, not the first qualifying assessment",
        "phq9",
        [(0, 20), (7, 8), (14, 12), (21, 8), (28, 11), (35, 15), (42, 2)],
        {"baseline_total": 20, "response": 7, "remission": 42, "relapse": 28,
         "durable": 21, "censored": False},
    ),
    (
        "no relapse without a response",
        "phq9",
        [(0, 20), (7, 15), (14, 16), (21, 18)],
        {"baseline_total": 20, **NO_OUTCOME, "censored": False},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("instrument", "visits", "expected"),
    [row[1:] for row in TRAJECTORY_CASES],
    ids=[row[0] for row in TRAJECTORY_CASES],
)
def test_trajectory_golden(
    instrument: str, visits: list[tuple[int, int | None]], expected: dict[str, object]
) -> None:
    """Spec §3, normative algorithm:

    ``A = assessments with non-null total, sorted ascending by date``; ``pre = [a in A : a.date
    <= D0]; if empty -> all outputs null, censored=false``; ``B = total of the LAST element of
    pre``; ``post = [a in A : a.date > D0]; if empty -> all outputs null, censored=false``.
    Response: "first a in post with 2*a.total <= B" (B == 0: null); remission: "if
    remission_criterion(B) is already true -> not eligible -> null else first a in post with
    remission_criterion(a.total)" (independent of response, may follow a relapse); relapse:
    "``qualifies(t) = (2*t > B) and (t >= relapse_floor)``" on "two CONSECUTIVE valid
    assessments; dated at the FIRST of the pair" after the response date; "durable_response_days
    = (relapse_date - response_date).days if relapse = (last post date - response_date).days if
    response and no relapse (right-censored) = null if no response"; "censored = (response_date
    is not null) and (relapse_date is null)". Floors: PHQ-9 10, GAD-7 10, QIDS-SR16 11 (STAR*D,
    Rush 2006), MADRS 22 (SUSTAIN-1, Daly et al. 2019). "Only the **first** response and relapse
    episode is reported."
    """
    check(run(instrument, visits), **expected)


@pytest.mark.parametrize(
    ("instrument", "visits", "expected"),
    [row[1:] for row in TRAJECTORY_CASES],
    ids=[row[0] for row in TRAJECTORY_CASES],
)
def test_trajectory_golden_unsorted(
    instrument: str, visits: list[tuple[int, int | None]], expected: dict[str, object]
) -> None:
    """Spec §3: "The list may be unsorted"; the algorithm sorts by date first. Reversed and
    interleaved orders give the golden result."""
    check(run(instrument, list(reversed(visits))), **expected)
    interleaved = visits[1::2] + visits[0::2]
    check(run(instrument, interleaved), **expected)


# ---------------------------------------------------------------------------------------------
# Remission criteria per instrument
# ---------------------------------------------------------------------------------------------

REMISSION_TABLE = [
    # instrument, baseline, post total, remits
    ("phq9", 20, 5, False),
    ("phq9", 20, 4, True),
    ("gad7", 15, 5, False),
    ("gad7", 15, 4, True),
    ("qids_sr16", 20, 6, False),
    ("qids_sr16", 20, 5, True),
    ("madrs", 40, 13, False),
    ("madrs", 40, 12, True),
]


@pytest.mark.parametrize(("instrument", "baseline", "post", "remits"), REMISSION_TABLE)
def test_remission_threshold_per_instrument(
    instrument: str, baseline: int, post: int, remits: bool
) -> None:
    """Spec §3 table: remission is PHQ-9 total **< 5** (Psychiatr Serv 2020; SUSTAIN-3), GAD-7
    **< 5** [D], QIDS-SR16 **≤ 5** (Trivedi et al. 2006, STAR*D), MADRS **≤ 12** (esketamine
    programme, PMC10439056 Table 3)."""
    result = run(instrument, [(0, baseline), (10, post)])
    assert result.remission_date == (day(10) if remits else None)


ELIGIBILITY_TABLE = [
    # instrument, baseline, post total, remission expected
    ("phq9", 4, 0, False),
    ("phq9", 5, 4, True),
    ("gad7", 4, 0, False),
    ("gad7", 5, 4, True),
    ("qids_sr16", 5, 0, False),
    ("qids_sr16", 6, 5, True),
    ("madrs", 12, 0, False),
    ("madrs", 13, 12, True),
]


@pytest.mark.parametrize(("instrument", "baseline", "post", "remits"), ELIGIBILITY_TABLE)
def test_remission_not_eligible_when_baseline_already_remitted(
    instrument: str, baseline: int, post: int, remits: bool
) -> None:
    """Spec §3: "remission: if remission_criterion(B) is already true -> not eligible -> null"."""
    result = run(instrument, [(0, baseline), (10, post)])
    assert result.remission_date == (day(10) if remits else None)


@pytest.mark.parametrize(("remission_max_total", "remission"), [(None, 7), (10, 14)])
def test_madrs_remission_override(remission_max_total: int | None, remission: int) -> None:
    """Spec §3 table and §8.2: MADRS remission default ≤ 12 (esketamine); "Alternatives: ≤10,
    used in IV-ketamine trials such as KetECT (PMC9154276) ... Flip the config if the clinic
    benchmarks against IV-ketamine literature"."""
    rules = (
        DEFAULT_RULES
        if remission_max_total is None
        else DEFAULT_RULES.override("madrs", remission_max_total=remission_max_total)
    )
    result = run("madrs", [(0, 30), (7, 12), (14, 10)], rules=rules)
    assert result.remission_date == day(remission)


def test_madrs_remission_override_changes_eligibility() -> None:
    """Spec §3: eligibility uses the same criterion; with ``remission_max_total=10`` a MADRS
    baseline of 11 is eligible (it is not under the default ≤ 12)."""
    visits = [(0, 11), (7, 9)]
    assert run("madrs", visits).remission_date is None
    rules = DEFAULT_RULES.override("madrs", remission_max_total=10)
    assert run("madrs", visits, rules=rules).remission_date == day(7)


# ---------------------------------------------------------------------------------------------
# Input forms and result types
# ---------------------------------------------------------------------------------------------

RELAPSE_VISITS = [(0, 20), (7, 8), (14, 12), (21, 14), (28, 3)]


def _date_forms() -> list[tuple[str, object, list[tuple[object, int | None]]]]:
    as_str = [(iso(offset), total) for offset, total in RELAPSE_VISITS]
    as_date = [(day(offset), total) for offset, total in RELAPSE_VISITS]
    mixed = [
        (iso(offset) if position % 2 else day(offset), total)
        for position, (offset, total) in enumerate(RELAPSE_VISITS)
    ]
    return [
        ("str baseline, str dates", INDEX_DATE.isoformat(), as_str),
        ("date baseline, date dates", INDEX_DATE, as_date),
        ("date baseline, str dates", INDEX_DATE, as_str),
        ("str baseline, date dates", INDEX_DATE.isoformat(), as_date),
        ("str baseline, mixed dates", INDEX_DATE.isoformat(), mixed),
    ]


@pytest.mark.parametrize(
    ("baseline_date", "assessments"),
    [row[1:] for row in _date_forms()],
    ids=[row[0] for row in _date_forms()],
)
def test_dates_as_iso_strings_or_date_objects(
    baseline_date: object, assessments: list[tuple[object, int | None]]
) -> None:
    """Spec §7: ``baseline_date: date | str`` and ``assessments: Iterable[tuple[date | str, int |
    None]]``; "Dates in results are ``datetime.date``". §3: "Day counts are calendar-day
    differences"; ``days_to_response = (response_date - D0).days``."""
    result = trajectory("phq9", baseline_date=baseline_date, assessments=assessments)
    check(
        result,
        baseline_total=20,
        response=7,
        remission=28,
        relapse=14,
        durable=7,
        censored=False,
    )
    for name in ("response_date", "remission_date", "relapse_date"):
        value = getattr(result, name)
        assert isinstance(value, date)
        assert not isinstance(value, datetime)
    assert type(result.days_to_response) is int
    assert type(result.durable_response_days) is int


def test_assessments_may_be_any_iterable_of_pairs() -> None:
    """Spec §3: "``assessments`` is a list of ``[iso_date, total|null]`` pairs"; §7 types it as
    ``Iterable[tuple[...]]``, so a generator and list-pairs both work."""

    def generate() -> Iterator[tuple[str, int | None]]:
        for offset, total in RELAPSE_VISITS:
            yield iso(offset), total

    from_generator = trajectory("phq9", baseline_date=INDEX_DATE, assessments=generate())
    from_lists = trajectory(
        "phq9",
        baseline_date=INDEX_DATE,
        assessments=[[iso(offset), total] for offset, total in RELAPSE_VISITS],
    )
    expected = trajectory(
        "phq9",
        baseline_date=INDEX_DATE,
        assessments=[(iso(offset), total) for offset, total in RELAPSE_VISITS],
    )
    assert from_generator == expected
    assert from_lists == expected


def test_days_to_response_counts_calendar_days_across_month_and_leap_day() -> None:
    """Spec §3: "Day counts are calendar-day differences"; ``days_to_response =
    (response_date - D0).days``. 2024-02-20 to 2024-03-05 spans the leap day: 14 days."""
    result = trajectory(
        "phq9",
        baseline_date="2024-02-20",
        assessments=[("2024-02-20", 18), ("2024-03-05", 9), ("2024-04-01", 8)],
    )
    assert result.response_date == date(2024, 3, 5)
    assert result.days_to_response == 14
    assert result.durable_response_days == (date(2024, 4, 1) - date(2024, 3, 5)).days
    assert result.censored is True


def test_trajectory_is_a_frozen_dataclass() -> None:
    """Spec §7: "Trajectory is a frozen dataclass: baseline_total, response_date, remission_date,
    days_to_response, relapse_date, durable_response_days, censored"."""
    result = run("phq9", RELAPSE_VISITS)
    assert dataclasses.is_dataclass(result)
    names = {field.name for field in dataclasses.fields(result)}
    assert {
        "baseline_total",
        "response_date",
        "remission_date",
        "days_to_response",
        "relapse_date",
        "durable_response_days",
        "censored",
    } <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.censored = True


# ---------------------------------------------------------------------------------------------
# Reliable change and MCID (spec §4)
# ---------------------------------------------------------------------------------------------

RELIABLE_CHANGE_TABLE = [
    # instrument, baseline, followup, change, category, mcid_improvement
    ("phq9", 20, 14, -6, "improved", True),
    ("phq9", 20, 13, -7, "improved", True),
    ("phq9", 20, 15, -5, "none", True),
    ("phq9", 20, 16, -4, "none", False),
    ("phq9", 10, 10, 0, "none", False),
    ("phq9", 10, 15, 5, "none", False),
    ("phq9", 10, 16, 6, "deteriorated", False),
    ("phq9", 0, 27, 27, "deteriorated", False),
    ("phq9", 27, 0, -27, "improved", True),
    ("gad7", 15, 11, -4, "improved", None),
    ("gad7", 15, 12, -3, "none", None),
    ("gad7", 8, 11, 3, "none", None),
    ("gad7", 8, 12, 4, "deteriorated", None),
    ("gad7", 10, 10, 0, "none", None),
]


@pytest.mark.parametrize(
    ("instrument", "baseline", "followup", "change", "category", "mcid"), RELIABLE_CHANGE_TABLE
)
def test_reliable_change_fixed_thresholds(
    instrument: str, baseline: int, followup: int, change: int, category: str, mcid: bool | None
) -> None:
    """Spec §4 [V]: "Default fixed thresholds (NHS Talking Therapies / IAPT): PHQ-9 reliable
    change = a change of **≥ 6** points; GAD-7 = **≥ 4** points (PMC8411661 Table 1, citing NHS
    Digital 2016). Category ``improved`` when ``baseline − followup ≥ threshold``,
    ``deteriorated`` when ``followup − baseline ≥ threshold``, otherwise ``none``." MCID [V]:
    "**5 points** ... (Löwe et al. 2004, Med Care 42:1194-1201). ``mcid_improvement = (baseline −
    followup ≥ 5)`` for PHQ-9; ``null`` for other instruments." Output: ``change: followup −
    baseline``."""
    result = reliable_change(instrument, baseline, followup)
    assert result.change == change
    assert result.reliable_change == category
    assert result.mcid_improvement is mcid


@pytest.mark.parametrize(
    ("instrument", "baseline", "followup"),
    [
        ("qids_sr16", 20, 5),
        ("qids_sr16", 5, 27),
        ("qids_sr16", 10, 10),
        ("madrs", 40, 10),
        ("madrs", 4, 60),
        ("madrs", 30, 30),
    ],
)
def test_reliable_change_without_a_default_threshold_is_none(
    instrument: str, baseline: int, followup: int
) -> None:
    """Spec §4: "QIDS-SR16 and MADRS have no default threshold." The spec does not say what the
    category is then; the library's documented choice (per the brief for this suite) is that
    with no threshold no change is classified as reliable, so ``reliable_change`` is ``"none"``
    even for very large changes. ``change`` is still ``followup − baseline`` and
    ``mcid_improvement`` is null (PHQ-9 only)."""
    result = reliable_change(instrument, baseline, followup)
    assert result.change == followup - baseline
    assert result.reliable_change == "none"
    assert result.mcid_improvement is None


def test_change_is_a_frozen_dataclass() -> None:
    """Spec §7: "Change: change: int, reliable_change: "improved" | "deteriorated" | "none",
    mcid_improvement: bool | None"."""
    result = reliable_change("phq9", 20, 10)
    assert dataclasses.is_dataclass(result)
    names = {field.name for field in dataclasses.fields(result)}
    assert {"change", "reliable_change", "mcid_improvement"} <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.change = 0
