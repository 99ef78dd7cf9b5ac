"""Hypothesis properties derived from ``/work/shared/clinical/scoring-spec.md`` (v1).

STYLE.md item 8: invariants with Hypothesis, deterministic runs (``derandomize=True``, no example
database), never ``@flaky``. Example counts are modest so the file runs in seconds.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes import score, score_frame, trajectory

# instrument -> (item prefix, number of items, highest answer, highest total); spec §2.
SCALES: dict[str, tuple[str, int, int, int]] = {
    "phq9": ("phq9", 9, 3, 27),
    "gad7": ("gad7", 7, 3, 21),
    "qids_sr16": ("qids", 16, 3, 27),
    "madrs": ("madrs", 10, 6, 60),
    "pcl5": ("pcl5", 20, 4, 80),
}

# Severity bands in increasing order (spec §2.1-§2.4); PCL-5 has none (§2.6).
BAND_ORDER: dict[str, tuple[str, ...]] = {
    "phq9": ("none_minimal", "mild", "moderate", "moderately_severe", "severe"),
    "gad7": ("minimal", "mild", "moderate", "severe"),
    "qids_sr16": ("none", "mild", "moderate", "severe", "very_severe"),
    "madrs": ("normal", "mild", "moderate", "severe"),
}

# Flags each instrument can raise, as score_frame columns (spec §2, §7).
FLAG_COLUMNS: dict[str, tuple[str, ...]] = {
    "phq9": ("phq9_item9_positive",),
    "gad7": (),
    "qids_sr16": ("qids_item12_positive",),
    "madrs": ("madrs_item10_positive",),
    "pcl5": ("pcl5_probable_ptsd",),
    "cssrs_screen": ("cssrs_high_risk", "cssrs_low_risk", "cssrs_moderate_risk"),
}

QIDS_DOMAINS: tuple[tuple[int, ...], ...] = (
    (1, 2, 3, 4),
    (5,),
    (6, 7, 8, 9),
    (10,),
    (11,),
    (12,),
    (13,),
    (14,),
    (15, 16),
)

CSSRS_KEYS = (*(f"cssrs_{number}" for number in range(1, 7)), "cssrs_6_recent")

# Missing items that may be prorated (spec §2.1 PHQ-9 ≤ 2 [V], §2.2 GAD-7 ≤ 1 [D]).
MAX_MISSING = {"phq9": 2, "gad7": 1}

SETTINGS = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

INDEX_DATE = date(2024, 3, 1)


def keys_of(instrument: str) -> list[str]:
    if instrument == "cssrs_screen":
        return list(CSSRS_KEYS)
    prefix, n_items, _, _ = SCALES[instrument]
    return [f"{prefix}_{number}" for number in range(1, n_items + 1)]


@st.composite
def in_range_record(draw: st.DrawFn, instrument: str, max_missing: int = 3) -> dict[str, Any]:
    """Values in range, with up to ``max_missing`` items set to null."""
    _, n_items, item_max, _ = SCALES[instrument]
    keys = keys_of(instrument)
    values = draw(st.lists(st.integers(0, item_max), min_size=n_items, max_size=n_items))
    record: dict[str, Any] = dict(zip(keys, values, strict=True))
    for key in draw(st.sets(st.sampled_from(keys), max_size=max_missing)):
        record[key] = None
    return record


def invalid_values(item_max: int) -> st.SearchStrategy[object]:
    """Spec §1.2: non-integers, strings, booleans and out-of-range integers."""
    return st.sampled_from([item_max + 1, -1, 1.5, "2", "x", True, False])


@st.composite
def any_record(draw: st.DrawFn, instrument: str) -> dict[str, Any]:
    """A record with missing values and, one time in three, a disallowed value."""
    if instrument == "cssrs_screen":
        record: dict[str, Any] = {key: draw(st.sampled_from([0, 1, 1, None])) for key in CSSRS_KEYS}
        item_max = 1
    else:
        record = draw(in_range_record(instrument))
        item_max = SCALES[instrument][2]
    if draw(st.integers(0, 2)) == 0:
        key = draw(st.sampled_from(keys_of(instrument)))
        record[key] = draw(invalid_values(item_max))
    return record


def qids_spec_total(record: dict[str, Any]) -> int | None:
    """Spec §2.3: sum of the 9 domain maxima; ``None`` when a domain has no answer."""
    total = 0
    for domain in QIDS_DOMAINS:
        answered = [record[f"qids_{n}"] for n in domain if record[f"qids_{n}"] is not None]
        if not answered:
            return None
        total += max(answered)
    return total


# ---------------------------------------------------------------------------------------------
# Range and monotonicity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", list(SCALES))
@SETTINGS
@given(data=st.data())
def test_valid_totals_are_within_the_instrument_range(instrument: str, data: st.DataObject) -> None:
    """Spec §2: PHQ-9 0–27, GAD-7 0–21, QIDS-SR16 0–27, MADRS 0–60, PCL-5 0–80 (prorated totals
    included, §1.4); §1.3: valid records have a total and (except PCL-5, §2.6) a severity, and
    invalid records have neither."""
    record = data.draw(in_range_record(instrument))
    result = score(instrument, record)
    max_total = SCALES[instrument][3]
    if result.valid:
        assert type(result.total) is int
        assert 0 <= result.total <= max_total
        if instrument == "pcl5":
            assert result.severity is None
        else:
            assert result.severity in BAND_ORDER[instrument]
        assert result.errors == ()
    else:
        assert result.total is None
        assert result.severity is None
        assert len(result.errors) > 0


@pytest.mark.parametrize("instrument", list(SCALES))
@SETTINGS
@given(data=st.data())
def test_total_is_monotone_in_each_item(instrument: str, data: st.DataObject) -> None:
    """STYLE.md item 8 ("monotone in each item"); follows from spec §2 (sums, and for QIDS-SR16
    sums of domain maxima): raising one answer of a complete record never lowers the total or
    the severity band."""
    _, _, item_max, _ = SCALES[instrument]
    record = data.draw(in_range_record(instrument, max_missing=0))
    key = data.draw(st.sampled_from(keys_of(instrument)))
    new_value = data.draw(st.integers(record[key], item_max))
    before = score(instrument, record)
    after = score(instrument, {**record, key: new_value})
    assert before.valid and after.valid
    assert after.total >= before.total
    if instrument in BAND_ORDER:
        bands = BAND_ORDER[instrument]
        assert bands.index(after.severity) >= bands.index(before.severity)


@pytest.mark.parametrize("instrument", list(MAX_MISSING))
@SETTINGS
@given(data=st.data())
def test_proration_formula(instrument: str, data: st.DataObject) -> None:
    """Spec §1.4: prorated total = ``(2*sum*N + n) // (2*n)`` (round half up, exact integers),
    with the ``prorated`` flag exactly when an item is missing; PHQ-9 prorates ≤ 2 missing,
    GAD-7 ≤ 1, more is invalid (§2.1, §2.2)."""
    record = data.draw(in_range_record(instrument, max_missing=4))
    answered = [value for value in record.values() if value is not None]
    n_items, n = len(record), len(answered)
    result = score(instrument, record)
    if n_items - n > MAX_MISSING[instrument]:
        assert result.valid is False
        return
    assert result.valid is True
    assert result.total == (2 * sum(answered) * n_items + n) // (2 * n)
    assert ("prorated" in result.flags) is (n < n_items)


@SETTINGS
@given(record=in_range_record("qids_sr16", max_missing=8))
def test_qids_total_is_the_sum_of_domain_maxima(record: dict[str, Any]) -> None:
    """Spec §2.3: "**Total** = sum of the 9 domain scores"; a domain is present if at least one
    of its items is answered; a missing domain makes the record invalid (no proration)."""
    expected = qids_spec_total(record)
    result = score("qids_sr16", record)
    if expected is None:
        assert result.valid is False
        assert result.total is None
    else:
        assert result.valid is True
        assert result.total == expected
        assert "prorated" not in result.flags


# ---------------------------------------------------------------------------------------------
# score() and score_frame() agree
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", [*SCALES, "cssrs_screen"])
@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_score_frame_matches_score_row_by_row(instrument: str, data: st.DataObject) -> None:
    """Spec §7: "score() and score_frame() give identical results (one implementation, tested
    so)". The frame has one column per item key with missing = NA and the same index; columns
    are compared as total, severity, valid, prorated and one bool column per flag."""
    records = data.draw(st.lists(any_record(instrument), min_size=1, max_size=6))
    keys = keys_of(instrument)
    index = pd.Index([f"row{position * 7}" for position in range(len(records))], name="visit")
    frame = pd.DataFrame([{key: record.get(key) for key in keys} for record in records], index)
    if data.draw(st.booleans()):
        frame = frame.astype(object)
    result = score_frame(instrument, frame)
    assert list(result.index) == list(index)
    severities = result["severity"].astype(object)
    for position, record in enumerate(records):
        expected = score(instrument, record)
        total = result["total"].iloc[position]
        if expected.total is None:
            assert pd.isna(total), (record, expected)
        else:
            assert not pd.isna(total) and int(total) == expected.total, (record, expected)
        severity = severities.iloc[position]
        if expected.severity is None:
            assert pd.isna(severity), (record, expected)
        else:
            assert severity == expected.severity, (record, expected)
        assert bool(result["valid"].iloc[position]) is expected.valid, (record, expected)
        prorated = bool(result["prorated"].iloc[position])
        assert prorated is ("prorated" in expected.flags), (record, expected)
        for flag in FLAG_COLUMNS[instrument]:
            raised = bool(result[flag].iloc[position])
            assert raised is (flag in expected.flags), (record, expected, flag)
        assert set(expected.flags) <= {"prorated", *FLAG_COLUMNS[instrument]}


# ---------------------------------------------------------------------------------------------
# trajectory() does not depend on row order or date representation
# ---------------------------------------------------------------------------------------------

TRAJECTORY_INSTRUMENTS = ("phq9", "gad7", "qids_sr16", "madrs")


@st.composite
def assessment_lists(draw: st.DrawFn, instrument: str) -> list[tuple[int, int | None]]:
    max_total = SCALES[instrument][3]
    offsets = draw(st.lists(st.integers(-30, 120), max_size=10, unique=True))
    totals = st.one_of(st.integers(0, max_total), st.integers(0, max_total), st.none())
    return [(offset, draw(totals)) for offset in offsets]


@pytest.mark.parametrize("instrument", TRAJECTORY_INSTRUMENTS)
@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_trajectory_is_invariant_to_assessment_order(instrument: str, data: st.DataObject) -> None:
    """Spec §3: "The list may be unsorted" (the algorithm sorts by date first) and dates may be
    ISO strings or ``datetime.date`` (§7); each date appears at most once."""
    visits = data.draw(assessment_lists(instrument))
    shuffled = data.draw(st.permutations(visits))
    as_strings = [((INDEX_DATE + timedelta(o)).isoformat(), t) for o, t in visits]
    as_dates = [(INDEX_DATE + timedelta(o), t) for o, t in shuffled]
    first = trajectory(instrument, baseline_date=INDEX_DATE.isoformat(), assessments=as_strings)
    second = trajectory(instrument, baseline_date=INDEX_DATE, assessments=as_dates)
    assert first == second


@pytest.mark.parametrize("instrument", TRAJECTORY_INSTRUMENTS)
@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_trajectory_outputs_are_consistent(instrument: str, data: st.DataObject) -> None:
    """Spec §3: response, remission and relapse are post-index dates; relapse needs a response
    and follows it; ``days_to_response = (response_date - D0).days``; ``censored =
    (response_date is not null) and (relapse_date is null)``; durability is null without a
    response and otherwise runs to the relapse or to the last valid post assessment."""
    visits = data.draw(assessment_lists(instrument))
    result = trajectory(
        instrument,
        baseline_date=INDEX_DATE,
        assessments=[(INDEX_DATE + timedelta(o), t) for o, t in visits],
    )
    valid_post = sorted(o for o, t in visits if t is not None and o > 0)
    assert result.censored is (result.response_date is not None and result.relapse_date is None)
    if result.response_date is None:
        assert result.days_to_response is None
        assert result.relapse_date is None
        assert result.durable_response_days is None
    else:
        assert result.response_date > INDEX_DATE
        assert result.days_to_response == (result.response_date - INDEX_DATE).days
        if result.relapse_date is None:
            last = INDEX_DATE + timedelta(valid_post[-1])
            assert result.durable_response_days == (last - result.response_date).days
        else:
            assert result.relapse_date > result.response_date
            expected = (result.relapse_date - result.response_date).days
            assert result.durable_response_days == expected
    if result.remission_date is not None:
        assert result.remission_date > INDEX_DATE
