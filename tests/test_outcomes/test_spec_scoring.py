"""Spec-derived golden tests for ``outcomes.score`` (and a few for ``score_frame``).

Every expected value here is derived from ``/work/shared/clinical/scoring-spec.md`` (v1) and the
sources it cites, never from the implementation. Each test quotes its source in its docstring
(STYLE.md item 7); tables are ``pytest.mark.parametrize`` (STYLE.md item 8).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

from outcomes import reliable_change, score, score_frame, trajectory
from outcomes.rules import DEFAULT_RULES

# Item-key prefix, number of items and highest allowed answer (spec §1.1 and §2).
SUM_SCALES: dict[str, tuple[str, int, int]] = {
    "phq9": ("phq9", 9, 3),
    "gad7": ("gad7", 7, 3),
    "qids_sr16": ("qids", 16, 3),
    "madrs": ("madrs", 10, 6),
    "pcl5": ("pcl5", 20, 4),
}

ALL_INSTRUMENT_IDS = ("phq9", "gad7", "qids_sr16", "madrs", "cssrs_screen", "pcl5")

# QIDS-SR16 domains (spec §2.3). The suicidal-ideation domain (item 12) is filled last so that
# golden totals below 25 never raise its safety flag.
QIDS_DOMAINS: tuple[tuple[int, ...], ...] = (
    (1, 2, 3, 4),  # sleep
    (5,),  # mood
    (6, 7, 8, 9),  # appetite / weight
    (10,),  # concentration
    (11,),  # self-view
    (13,),  # interest
    (14,),  # energy
    (15, 16),  # psychomotor
    (12,),  # suicidal ideation
)


def items(prefix: str, values: Sequence[object]) -> dict[str, object]:
    """``{prefix_1: values[0], ...}``; a value of ``None`` is kept as an explicit null."""
    return {f"{prefix}_{number}": value for number, value in enumerate(values, start=1)}


def record_with_total(instrument: str, total: int) -> dict[str, object]:
    """A complete, valid record whose spec total is ``total``.

    Plain-sum scales are filled greedily from item 1, so the safety item (always the last item
    of PHQ-9 and MADRS) is only used for the highest totals. QIDS-SR16 is filled domain by
    domain, and *every* item of a max-domain gets the domain score, so the sum of the 16 items
    is larger than the spec total whenever a max-domain is non-zero.
    """
    prefix, n_items, item_max = SUM_SCALES[instrument]
    remaining = total
    if instrument == "qids_sr16":
        record: dict[str, object] = {}
        for domain in QIDS_DOMAINS:
            value = min(item_max, remaining)
            remaining -= value
            for number in domain:
                record[f"qids_{number}"] = value
    else:
        values = []
        for _ in range(n_items):
            value = min(item_max, remaining)
            remaining -= value
            values.append(value)
        record = items(prefix, values)
    if remaining:
        raise ValueError(f"total {total} is out of range for {instrument}")
    return record


def complete_record(instrument: str, value: int = 1) -> dict[str, object]:
    """Every item of a plain-sum scale answered with ``value``."""
    prefix, n_items, _ = SUM_SCALES[instrument]
    return items(prefix, [value] * n_items)


def assert_invalid(result: Any) -> None:
    """Spec §1.3: ``valid=false`` implies ``total=null`` and ``severity=null``; §7: errors."""
    assert result.valid is False
    assert result.total is None
    assert result.severity is None
    assert isinstance(result.errors, tuple)
    assert len(result.errors) > 0
    assert all(isinstance(message, str) and message.strip() for message in result.errors)


def assert_flags_sorted(result: Any) -> None:
    """Spec §1.3 / §7: ``flags`` is a tuple and implementations emit it sorted."""
    assert isinstance(result.flags, tuple)
    assert list(result.flags) == sorted(result.flags)


# ---------------------------------------------------------------------------------------------
# Severity bands: both sides of every edge
# ---------------------------------------------------------------------------------------------

PHQ9_BANDS = [
    (0, "none_minimal"),
    (4, "none_minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately_severe"),
    (19, "moderately_severe"),
    (20, "severe"),
    (27, "severe"),
]

GAD7_BANDS = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]

QIDS_BANDS = [
    (0, "none"),
    (5, "none"),
    (6, "mild"),
    (10, "mild"),
    (11, "moderate"),
    (15, "moderate"),
    (16, "severe"),
    (20, "severe"),
    (21, "very_severe"),
    (27, "very_severe"),
]

MADRS_BANDS = [
    (0, "normal"),
    (6, "normal"),
    (7, "mild"),
    (19, "mild"),
    (20, "moderate"),
    (34, "moderate"),
    (35, "severe"),
    (60, "severe"),
]


@pytest.mark.parametrize(("total", "severity"), PHQ9_BANDS)
def test_phq9_severity_band_edges(total: int, severity: str) -> None:
    """PHQ-9 bands, spec §2.1 [V].

    Kroenke, Spitzer & Williams 2001 (J Gen Intern Med 16:606-613): "scores of 5, 10, 15, 20
    represent mild, moderate, moderately severe, severe"; spec: ``none_minimal`` 0–4 · ``mild``
    5–9 · ``moderate`` 10–14 · ``moderately_severe`` 15–19 · ``severe`` 20–27.
    """
    result = score("phq9", record_with_total("phq9", total))
    assert result.valid is True
    assert result.total == total
    assert result.severity == severity
    assert result.errors == ()


@pytest.mark.parametrize(("total", "severity"), GAD7_BANDS)
def test_gad7_severity_band_edges(total: int, severity: str) -> None:
    """GAD-7 bands, spec §2.2 [V].

    Spitzer, Kroenke, Williams & Löwe 2006 (Arch Intern Med 166:1092-1097), Pfizer scoring box:
    ``minimal`` 0–4 · ``mild`` 5–9 · ``moderate`` 10–14 · ``severe`` 15–21.
    """
    result = score("gad7", record_with_total("gad7", total))
    assert result.valid is True
    assert result.total == total
    assert result.severity == severity
    assert result.flags == ()
    assert result.errors == ()


@pytest.mark.parametrize(("total", "severity"), QIDS_BANDS)
def test_qids_sr16_severity_band_edges(total: int, severity: str) -> None:
    """QIDS-SR16 bands, spec §2.3 [V].

    ids-qids.org interpretation table; Rush et al. 2003 (Biol Psychiatry 54:573-583):
    ``none`` 0–5 · ``mild`` 6–10 · ``moderate`` 11–15 · ``severe`` 16–20 · ``very_severe`` 21–27.
    The records answer every item of a max-domain with the domain score, so a scorer that sums
    all 16 items instead of the 9 domain maxima gets these wrong.
    """
    result = score("qids_sr16", record_with_total("qids_sr16", total))
    assert result.valid is True
    assert result.total == total
    assert result.severity == severity
    assert result.errors == ()


@pytest.mark.parametrize(("total", "severity"), MADRS_BANDS)
def test_madrs_severity_band_edges(total: int, severity: str) -> None:
    """MADRS bands, spec §2.4 [V].

    Snaith et al. 1986 (Br J Psychiatry 148:599-601), as reproduced in McDowell's *Measuring
    Health*: "zero to six absence of symptoms; seven to 19 mild; 20 to 34 moderate; 35 to 60
    severe".
    """
    result = score("madrs", record_with_total("madrs", total))
    assert result.valid is True
    assert result.total == total
    assert result.severity == severity
    assert result.errors == ()


@pytest.mark.parametrize("total", [0, 1, 32, 33, 50, 80])
def test_pcl5_severity_is_always_null(total: int) -> None:
    """PCL-5, spec §2.6 [V]: "There are currently no empirically derived severity ranges for the
    PCL-5", so ``severity`` is always null while the total (0–80) is reported."""
    result = score("pcl5", record_with_total("pcl5", total))
    assert result.valid is True
    assert result.total == total
    assert result.severity is None


# ---------------------------------------------------------------------------------------------
# Allowed values (spec §1.2) and the meaning of absent / unknown keys (spec §1.1)
# ---------------------------------------------------------------------------------------------

INVALID_VALUES: list[tuple[str, object]] = [
    ("float 1.5", 1.5),
    ("float 0.5", 0.5),
    ("string '2'", "2"),
    ("string '0'", "0"),
    ("string 'x'", "x"),
    ("boolean True", True),
    ("boolean False", False),
    ("negative int", -1),
    ("huge int", 100),
]


@pytest.mark.parametrize("instrument", list(SUM_SCALES))
@pytest.mark.parametrize(
    "bad_value", [value for _, value in INVALID_VALUES], ids=[name for name, _ in INVALID_VALUES]
)
def test_disallowed_value_invalidates_whole_record(instrument: str, bad_value: object) -> None:
    """Spec §1.2 [D]: "A value must be an integer inside the item's range. The following make the
    *whole record* invalid: any non-integer number (e.g. ``1.5``; MNCM treats decimal PHQ responses
    as invalidating the tool), any string (even ``"2"``), any boolean ... and any out-of-range
    integer." §1.3: "If ``valid=false``, then ``total=null`` and ``severity=null``."

    The bad value is not treated as missing: PHQ-9 and GAD-7 would otherwise prorate it.
    """
    record = complete_record(instrument)
    prefix = SUM_SCALES[instrument][0]
    record[f"{prefix}_2"] = bad_value
    assert_invalid(score(instrument, record))


@pytest.mark.parametrize(("instrument", "first_out_of_range"), [
    ("phq9", 4),
    ("gad7", 4),
    ("qids_sr16", 4),
    ("madrs", 7),
    ("pcl5", 5),
])  # fmt: skip
def test_item_range_upper_edge(instrument: str, first_out_of_range: int) -> None:
    """Item ranges, spec §2: PHQ-9, GAD-7 and QIDS-SR16 items are 0–3, MADRS 0–6, PCL-5 0–4.
    §1.2: an out-of-range integer invalidates the record; the top of the range is allowed."""
    prefix = SUM_SCALES[instrument][0]
    record = complete_record(instrument, 0)
    record[f"{prefix}_1"] = first_out_of_range - 1
    accepted = score(instrument, record)
    assert accepted.valid is True
    assert accepted.total == first_out_of_range - 1
    record[f"{prefix}_1"] = first_out_of_range
    assert_invalid(score(instrument, record))


@pytest.mark.parametrize("instrument", list(SUM_SCALES))
def test_valid_record_has_no_errors(instrument: str) -> None:
    """Spec §7: ``errors`` explains why a record is invalid, so it is empty for a valid one."""
    result = score(instrument, complete_record(instrument, 0))
    assert result.valid is True
    assert result.total == 0
    assert result.errors == ()
    assert result.flags == ()


@pytest.mark.parametrize("instrument", list(SUM_SCALES))
@pytest.mark.parametrize("missing_count", [1, 2, 3])
def test_absent_key_means_the_same_as_null(instrument: str, missing_count: int) -> None:
    """Spec §1.1: "An absent key means the same as ``null``, i.e. missing." Covers records that
    stay valid (proration) and records that become invalid."""
    prefix = SUM_SCALES[instrument][0]
    with_nulls = complete_record(instrument, 2)
    without_keys = complete_record(instrument, 2)
    for number in range(1, missing_count + 1):
        with_nulls[f"{prefix}_{number}"] = None
        del without_keys[f"{prefix}_{number}"]
    assert score(instrument, with_nulls) == score(instrument, without_keys)


@pytest.mark.parametrize("instrument", list(SUM_SCALES))
def test_unknown_keys_are_ignored(instrument: str) -> None:
    """Spec §1.1: "Keys the instrument does not define are ignored", even when their values
    would be invalid for an item."""
    prefix = SUM_SCALES[instrument][0]
    record = complete_record(instrument, 1)
    noisy = dict(record)
    noisy.update(
        {
            "foo": "bar",
            f"{prefix}_0": 1.5,
            f"{prefix}_21": 99,
            "patient_id": "P-001",
            "gad7_1" if prefix != "gad7" else "phq9_1": "not a number",
        }
    )
    assert score(instrument, noisy) == score(instrument, record)


def test_empty_mapping_is_invalid() -> None:
    """Spec §1.1/§2.1: an absent key is missing, and a PHQ-9 with ≥ 3 missing is invalid."""
    assert_invalid(score("phq9", {}))


# ---------------------------------------------------------------------------------------------
# Proration (spec §1.4) with round half up
# ---------------------------------------------------------------------------------------------

# (values of items 1..N with None for missing, expected total, severity, flags)
PRORATION_TABLE: list[tuple[str, list[int | None], int, str, tuple[str, ...]]] = [
    # PHQ-9, 8 answered: 4 * 9 / 8 = 4.5 -> 5 (Python round() gives 4 and the band would flip)
    ("phq9", [1, 1, 1, 1, None, 0, 0, 0, 0], 5, "mild", ("prorated",)),
    # PHQ-9, 8 answered: 20 * 9 / 8 = 22.5 -> 23 (Python round() gives 22)
    ("phq9", [3, 3, 3, 3, None, 3, 2, 3, 0], 23, "severe", ("prorated",)),
    # PHQ-9, 8 answered: 12 * 9 / 8 = 13.5 -> 14
    ("phq9", [3, 3, 3, 3, None, 0, 0, 0, 0], 14, "moderate", ("prorated",)),
    # PHQ-9, 7 answered: 12 * 9 / 7 = 15.43 -> 15
    ("phq9", [2, 2, None, None, 2, 2, 2, 2, 0], 15, "moderately_severe", ("prorated",)),
    # PHQ-9, 7 answered: 10 * 9 / 7 = 12.86 -> 13
    ("phq9", [2, 2, None, 2, None, 2, 2, 0, 0], 13, "moderate", ("prorated",)),
    # PHQ-9, 7 answered, item 9 answered 1: 7 * 9 / 7 = 9
    ("phq9", [1, 1, None, None, 1, 1, 1, 1, 1], 9, "mild", ("phq9_item9_positive", "prorated")),
    # PHQ-9, item 9 itself missing: 8 * 9 / 8 = 9 and no item-9 flag
    ("phq9", [1, 1, 1, 1, 1, 1, 1, 1, None], 9, "mild", ("prorated",)),
    # PHQ-9, 8 answered, all zero
    ("phq9", [0, 0, 0, 0, 0, 0, 0, 0, None], 0, "none_minimal", ("prorated",)),
    # PHQ-9, 7 answered, all three: 21 * 9 / 7 = 27 (the maximum)
    ("phq9", [3, 3, 3, 3, 3, 3, None, None, 3], 27, "severe", ("phq9_item9_positive", "prorated")),
    # GAD-7, 6 answered: 9 * 7 / 6 = 10.5 -> 11 (Python round() gives 10)
    ("gad7", [2, 2, 2, 2, 1, None, 0], 11, "moderate", ("prorated",)),
    # GAD-7, 6 answered: 3 * 7 / 6 = 3.5 -> 4
    ("gad7", [1, 1, 1, None, 0, 0, 0], 4, "minimal", ("prorated",)),
    # GAD-7, 6 answered: 15 * 7 / 6 = 17.5 -> 18
    ("gad7", [3, 3, 3, 3, 3, None, 0], 18, "severe", ("prorated",)),
    # GAD-7, 6 answered: 4 * 7 / 6 = 4.67 -> 5 (crosses into mild)
    ("gad7", [None, 1, 1, 1, 1, 0, 0], 5, "mild", ("prorated",)),
    # GAD-7, 6 answered: 18 * 7 / 6 = 21 (the maximum)
    ("gad7", [None, 3, 3, 3, 3, 3, 3], 21, "severe", ("prorated",)),
]


@pytest.mark.parametrize(("instrument", "values", "total", "severity", "flags"), PRORATION_TABLE)
def test_proration_rounds_half_up(
    instrument: str,
    values: list[int | None],
    total: int,
    severity: str,
    flags: tuple[str, ...],
) -> None:
    """Spec §1.4 [D]: "the total is ``round_half_up(sum_answered × N_items / n_answered)``. Round
    half up means ``floor(x + 0.5)``. Use exact integer arithmetic: ``(2*sum*N + n) // (2*n)``.
    Python's ``round()`` rounds half to even and is **wrong** here. A prorated total adds the flag
    ``prorated``." PHQ-9 prorates ≤ 2 of 9 missing (qscorer ``scoring_phq9``, Arrieta et al.
    2017, spec §2.1 [V]); GAD-7 ≤ 1 of 7 (spec §2.2 [D])."""
    prefix = SUM_SCALES[instrument][0]
    result = score(instrument, items(prefix, values))
    assert result.valid is True
    assert result.total == total
    assert result.severity == severity
    assert set(result.flags) == set(flags)
    assert_flags_sorted(result)
    assert result.errors == ()


@pytest.mark.parametrize(("instrument", "values", "total", "severity", "flags"), PRORATION_TABLE)
def test_proration_table_matches_the_spec_formula(
    instrument: str,
    values: list[int | None],
    total: int,
    severity: str,
    flags: tuple[str, ...],
) -> None:
    """Self-check of the golden table against spec §1.4: ``floor(x + 0.5)`` with exact
    fractions equals ``(2*sum*N + n) // (2*n)``."""
    answered = [value for value in values if value is not None]
    n, n_items, total_answered = len(answered), len(values), sum(answered)
    exact = Fraction(total_answered * n_items, n) + Fraction(1, 2)
    assert exact.numerator // exact.denominator == total
    assert (2 * total_answered * n_items + n) // (2 * n) == total


def test_round_half_up_cases_differ_from_python_round() -> None:
    """Spec §1.4: "Python's ``round()`` rounds half to even and is **wrong** here." Guards that
    the table really contains cases where the two rules disagree."""
    assert round(4 * 9 / 8) == 4  # the spec's answer is 5
    assert round(20 * 9 / 8) == 22  # the spec's answer is 23
    assert round(9 * 7 / 6) == 10  # the spec's answer is 11


@pytest.mark.parametrize("instrument", list(SUM_SCALES))
def test_complete_record_is_not_flagged_prorated(instrument: str) -> None:
    """Spec §1.4: only a prorated total (at least one item missing) adds ``prorated``."""
    result = score(instrument, complete_record(instrument, 0))
    assert "prorated" not in result.flags


@pytest.mark.parametrize(("instrument", "missing"), [
    ("phq9", (1, 2, 3)),
    ("phq9", (2, 5, 8)),
    ("phq9", (1, 2, 3, 4, 5, 6, 7, 8)),
    ("gad7", (1, 2)),
    ("gad7", (3, 7)),
    ("gad7", (1, 2, 3)),
    ("madrs", (1,)),
    ("madrs", (10,)),
    ("pcl5", (1,)),
    ("pcl5", (20,)),
    ("pcl5", (3, 4)),
])  # fmt: skip
def test_too_many_missing_items_is_invalid(instrument: str, missing: tuple[int, ...]) -> None:
    """Missing-item limits, spec §2: PHQ-9 "With ≥ 3 missing the record is invalid" [V]; GAD-7
    "with ≥ 2 missing the record is invalid" [D]; MADRS "no proration. All 10 items are required"
    [D]; PCL-5 "no proration; all 20 items are required" [D]. No ``prorated`` flag on an invalid
    record (there is no total to prorate)."""
    prefix = SUM_SCALES[instrument][0]
    record = complete_record(instrument, 1)
    for number in missing:
        record[f"{prefix}_{number}"] = None
    result = score(instrument, record)
    assert_invalid(result)
    assert "prorated" not in result.flags


# ---------------------------------------------------------------------------------------------
# QIDS-SR16 domain scoring (spec §2.3)
# ---------------------------------------------------------------------------------------------

QIDS_DOMAIN_TABLE: list[tuple[str, dict[int, int | None], int | None, str | None]] = [
    (
        "worked example: domain sum 14, item sum 18",
        {1: 1, 2: 3, 3: 0, 4: 2, 5: 2, 6: 1, 7: None, 8: 2, 9: None,
         10: 1, 11: 0, 12: 0, 13: 3, 14: 1, 15: 0, 16: 2},
        14,
        "moderate",
    ),
    (
        "one appetite item and one weight item answered, as the form asks",
        {1: 0, 2: 1, 3: 0, 4: 0, 5: 1, 6: None, 7: 2, 8: 1, 9: None,
         10: 1, 11: 1, 12: 0, 13: 0, 14: 0, 15: 1, 16: 0},
        7,
        "mild",
    ),
    (
        "only one item answered in each max-domain",
        {1: None, 2: None, 3: 3, 4: None, 5: 0, 6: None, 7: None, 8: None, 9: 1,
         10: 0, 11: 0, 12: 0, 13: 0, 14: 0, 15: None, 16: 1},
        5,
        "none",
    ),
    (
        "all 16 items at 3: total is 27, not 48",
        dict.fromkeys(range(1, 17), 3),
        27,
        "very_severe",
    ),
    (
        "all 16 items at 1: total is 9, not 16",
        dict.fromkeys(range(1, 17), 1),
        9,
        "mild",
    ),
    (
        "sleep domain fully missing -> invalid, no proration",
        {1: None, 2: None, 3: None, 4: None, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1,
         10: 1, 11: 1, 12: 0, 13: 1, 14: 1, 15: 1, 16: 1},
        None,
        None,
    ),
    (
        "appetite/weight domain fully missing -> invalid",
        {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: None, 7: None, 8: None, 9: None,
         10: 1, 11: 1, 12: 0, 13: 1, 14: 1, 15: 1, 16: 1},
        None,
        None,
    ),
    (
        "psychomotor domain fully missing -> invalid",
        {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1,
         10: 1, 11: 1, 12: 0, 13: 1, 14: 1, 15: None, 16: None},
        None,
        None,
    ),
    (
        "single-item domain (mood, item 5) missing -> invalid",
        {1: 1, 2: 1, 3: 1, 4: 1, 5: None, 6: 1, 7: 1, 8: 1, 9: 1,
         10: 1, 11: 1, 12: 0, 13: 1, 14: 1, 15: 1, 16: 1},
        None,
        None,
    ),
    (
        "out-of-range item inside an otherwise answered max-domain -> invalid",
        {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 4, 8: 1, 9: 1,
         10: 1, 11: 1, 12: 0, 13: 1, 14: 1, 15: 1, 16: 1},
        None,
        None,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "total", "severity"),
    [row[1:] for row in QIDS_DOMAIN_TABLE],
    ids=[row[0] for row in QIDS_DOMAIN_TABLE],
)
def test_qids_sr16_domain_scoring(
    answers: dict[int, int | None], total: int | None, severity: str | None
) -> None:
    """QIDS-SR16, spec §2.3 [V] (official instructions quoted at tmsact.com.au; Rush 2003):
    sleep = max(1–4), mood = 5, appetite/weight = max(6–9), concentration = 10, self-view = 11,
    suicidal ideation = 12, interest = 13, energy = 14, psychomotor = max(15, 16). "**Total** = sum
    of the 9 domain scores ... The total is **not** the sum of all 16 items." [D]: "A domain is
    present if **at least one** of its items is answered ... All 9 domains must be present; there
    is **no proration** of missing domains"."""
    result = score("qids_sr16", {f"qids_{number}": value for number, value in answers.items()})
    if total is None:
        assert_invalid(result)
        assert "prorated" not in result.flags
    else:
        assert result.valid is True
        assert result.total == total
        assert result.severity == severity
        assert "prorated" not in result.flags


# ---------------------------------------------------------------------------------------------
# Safety and total-based flags
# ---------------------------------------------------------------------------------------------

SAFETY_ITEMS = [
    # instrument, safety item key, flag, highest answer
    ("phq9", "phq9_9", "phq9_item9_positive", 3),
    ("qids_sr16", "qids_12", "qids_item12_positive", 3),
    ("madrs", "madrs_10", "madrs_item10_positive", 6),
]


def _safety_cases() -> list[tuple[str, str, str, int, bool]]:
    cases = []
    for instrument, key, flag, item_max in SAFETY_ITEMS:
        for value in range(item_max + 1):
            cases.append((instrument, key, flag, value, value >= 1))
    return cases


@pytest.mark.parametrize(("instrument", "key", "flag", "value", "raised"), _safety_cases())
def test_safety_item_flag_at_one_or_more(
    instrument: str, key: str, flag: str, value: int, raised: bool
) -> None:
    """Suicide-item flags, spec §2.1 [V] "``phq9_item9_positive`` when item 9 ≥ 1, whatever the
    total" (Simon et al. 2013, Psychiatr Serv 64:1195); §2.3 "``qids_item12_positive`` when item
    12 ≥ 1" [D]; §2.4 "``madrs_item10_positive`` when item 10 ≥ 1" [D]. All other items are 0, so
    the flag is independent of the total."""
    if instrument == "qids_sr16":
        record = {f"qids_{number}": 0 for number in range(1, 17)}
    else:
        record = complete_record(instrument, 0)
    record[key] = value
    result = score(instrument, record)
    assert result.valid is True
    assert (flag in result.flags) is raised
    assert set(result.flags) <= {flag}


@pytest.mark.parametrize(("total", "raised"), [(0, False), (32, False), (33, True), (80, True)])
def test_pcl5_probable_ptsd_flag_at_33(total: int, raised: bool) -> None:
    """PCL-5, spec §2.6: "``pcl5_probable_ptsd`` when total ≥ **33** [D within a [V] range]. The
    published provisional cut-point is 31–33"."""
    result = score("pcl5", record_with_total("pcl5", total))
    assert result.valid is True
    assert result.total == total
    assert result.flags == (("pcl5_probable_ptsd",) if raised else ())


def test_gad7_raises_no_flags() -> None:
    """GAD-7, spec §2.2: "**Flags:** none apart from ``prorated``"."""
    assert score("gad7", complete_record("gad7", 3)).flags == ()


SAFETY_ON_INVALID: list[tuple[str, str, dict[str, object], str, bool]] = [
    (
        "PHQ-9, 3 missing, item 9 = 2",
        "phq9",
        items("phq9", [1, None, None, None, 1, 1, 1, 1, 2]),
        "phq9_item9_positive",
        True,
    ),
    (
        "PHQ-9, only item 9 answered (1)",
        "phq9",
        {"phq9_9": 1},
        "phq9_item9_positive",
        True,
    ),
    (
        "PHQ-9, string in item 1, item 9 = 1",
        "phq9",
        items("phq9", ["2", 1, 1, 1, 1, 1, 1, 1, 1]),
        "phq9_item9_positive",
        True,
    ),
    (
        "PHQ-9, float in item 2, item 9 = 3",
        "phq9",
        items("phq9", [1, 1.5, 1, 1, 1, 1, 1, 1, 3]),
        "phq9_item9_positive",
        True,
    ),
    (
        "PHQ-9, item 9 out of range (5)",
        "phq9",
        items("phq9", [1, 1, 1, 1, 1, 1, 1, 1, 5]),
        "phq9_item9_positive",
        False,
    ),
    (
        "PHQ-9, item 9 out of range (-1)",
        "phq9",
        items("phq9", [1, 1, 1, 1, 1, 1, 1, 1, -1]),
        "phq9_item9_positive",
        False,
    ),
    (
        "PHQ-9, 3 missing, item 9 = 0",
        "phq9",
        items("phq9", [1, None, None, None, 1, 1, 1, 1, 0]),
        "phq9_item9_positive",
        False,
    ),
    (
        "QIDS-SR16, appetite domain missing, item 12 = 1",
        "qids_sr16",
        {f"qids_{n}": (None if n in (6, 7, 8, 9) else 1) for n in range(1, 17)},
        "qids_item12_positive",
        True,
    ),
    (
        "QIDS-SR16, item 12 out of range (4)",
        "qids_sr16",
        {f"qids_{n}": (4 if n == 12 else 1) for n in range(1, 17)},
        "qids_item12_positive",
        False,
    ),
    (
        "MADRS, item 1 missing, item 10 = 2",
        "madrs",
        items("madrs", [None, 1, 1, 1, 1, 1, 1, 1, 1, 2]),
        "madrs_item10_positive",
        True,
    ),
    (
        "MADRS, item 10 out of range (7)",
        "madrs",
        items("madrs", [1, 1, 1, 1, 1, 1, 1, 1, 1, 7]),
        "madrs_item10_positive",
        False,
    ),
]


@pytest.mark.parametrize(
    ("instrument", "record", "flag", "raised"),
    [row[1:] for row in SAFETY_ON_INVALID],
    ids=[row[0] for row in SAFETY_ON_INVALID],
)
def test_safety_flags_are_computed_on_invalid_records(
    instrument: str, record: dict[str, object], flag: str, raised: bool
) -> None:
    """Spec §1.3 [D]: "**Safety flags are always computed from whichever individual safety items
    are present and in range, even when the record as a whole is invalid** ... An invalid form
    must never hide a positive suicide item. An out-of-range safety item does not raise its
    flag." """
    result = score(instrument, record)
    assert_invalid(result)
    assert (flag in result.flags) is raised
    assert_flags_sorted(result)


def test_flags_are_a_sorted_tuple() -> None:
    """Spec §1.3: "``flags`` are compared as a set. Implementations should emit them sorted";
    §7: ``flags: tuple[str, ...] (sorted)``."""
    result = score("phq9", items("phq9", [3, 3, None, 3, 3, 3, 3, 3, 3]))
    assert result.flags == ("phq9_item9_positive", "prorated")


# ---------------------------------------------------------------------------------------------
# PHQ-9 item 10 is never scored (spec §2.1)
# ---------------------------------------------------------------------------------------------

PHQ9_BASE_RECORDS = {
    "complete": items("phq9", [1, 2, 1, 2, 1, 2, 1, 2, 0]),
    "prorated": items("phq9", [1, 2, None, 2, 1, None, 1, 2, 1]),
    "invalid": items("phq9", [None, None, None, 2, 1, 2, 1, 2, 1]),
}


@pytest.mark.parametrize("base", list(PHQ9_BASE_RECORDS))
@pytest.mark.parametrize("item10", [0, 1, 3, 4, 7, -1, "x", "2", 1.5, True, False, None])
def test_phq9_item10_never_affects_anything(base: str, item10: object) -> None:
    """PHQ-9 item 10, spec §2.1 [V]: "**Item 10** (functional difficulty) is **never scored** and
    does not affect total, severity, validity or flags" (CamCOPS stores q10 separately, outside
    ``total_score``). Holds even for values that would be invalid in a scored item."""
    record = PHQ9_BASE_RECORDS[base]
    assert score("phq9", {**record, "phq9_10": item10}) == score("phq9", record)


# ---------------------------------------------------------------------------------------------
# C-SSRS screener (spec §2.5)
# ---------------------------------------------------------------------------------------------


def cssrs(**answers: int | None) -> dict[str, object]:
    """``cssrs(q1=1, q2=0, q6=1, recent=None)`` -> item mapping; omitted questions are absent."""
    record: dict[str, object] = {}
    for name, value in answers.items():
        key = "cssrs_6_recent" if name == "recent" else f"cssrs_{name[1:]}"
        record[key] = value
    return record


RISK_FLAGS = {
    "high": ("cssrs_high_risk",),
    "moderate": ("cssrs_moderate_risk",),
    "low": ("cssrs_low_risk",),
    "none": (),
}

CSSRS_TRIAGE: list[tuple[str, dict[str, object], str]] = [
    ("all no, Q3-5 skipped", cssrs(q1=0, q2=0, q6=0), "none"),
    ("all no, Q3-5 answered no", cssrs(q1=0, q2=0, q3=0, q4=0, q5=0, q6=0), "none"),
    ("Q1 wish to be dead", cssrs(q1=1, q2=0, q6=0), "low"),
    ("Q2 active thoughts, Q3-5 no", cssrs(q1=0, q2=1, q3=0, q4=0, q5=0, q6=0), "low"),
    ("Q1 and Q2, Q3-5 no", cssrs(q1=1, q2=1, q3=0, q4=0, q5=0, q6=0), "low"),
    ("Q3 method", cssrs(q1=1, q2=1, q3=1, q4=0, q5=0, q6=0), "moderate"),
    ("Q4 intent", cssrs(q1=1, q2=1, q3=0, q4=1, q5=0, q6=0), "high"),
    ("Q5 plan and intent", cssrs(q1=1, q2=1, q3=1, q4=1, q5=1, q6=0), "high"),
    ("Q5 alone", cssrs(q1=0, q2=1, q3=0, q4=0, q5=1, q6=0), "high"),
    ("Q6 behaviour, recent yes", cssrs(q1=0, q2=0, q6=1, recent=1), "high"),
    ("Q6 behaviour, recent no", cssrs(q1=0, q2=0, q6=1, recent=0), "moderate"),
    ("Q6 behaviour, recency unknown (null)", cssrs(q1=0, q2=0, q6=1, recent=None), "high"),
    ("Q6 behaviour, recency key absent", cssrs(q1=0, q2=0, q6=1), "high"),
    ("Q6 not recent beats Q1 low", cssrs(q1=1, q2=0, q6=1, recent=0), "moderate"),
    ("Q4 beats Q6 not recent", cssrs(q1=1, q2=1, q3=0, q4=1, q5=0, q6=1, recent=0), "high"),
    ("Q3 with Q6 recent", cssrs(q1=1, q2=1, q3=1, q4=0, q5=0, q6=1, recent=1), "high"),
    ("Q3 yes counts even when Q2 = 0", cssrs(q1=0, q2=0, q3=1, q6=0), "moderate"),
    ("Q4 yes counts even when Q2 = 0", cssrs(q1=1, q2=0, q4=1, q6=0), "high"),
    ("Q5 yes counts even when Q2 = 0", cssrs(q1=0, q2=0, q5=1, q6=0), "high"),
    ("recent ignored when Q6 = 0", cssrs(q1=0, q2=0, q6=0, recent=1), "none"),
    ("recent ignored when Q6 = 0, Q1 yes", cssrs(q1=1, q2=0, q6=0, recent=1), "low"),
    ("recent = 0 ignored when Q6 = 0", cssrs(q1=0, q2=0, q6=0, recent=0), "none"),
]


@pytest.mark.parametrize(
    ("record", "level"), [row[1:] for row in CSSRS_TRIAGE], ids=[row[0] for row in CSSRS_TRIAGE]
)
def test_cssrs_screen_triage(record: dict[str, object], level: str) -> None:
    """C-SSRS Screener triage, spec §2.5 (Columbia triage page; C-SSRS Screener with triage
    colours): "``high``: Q4 = 1, or Q5 = 1, or (Q6 = 1 and recent ≠ 0) · ``moderate``: otherwise,
    Q3 = 1, or (Q6 = 1 and recent = 0) · ``low``: otherwise, Q1 = 1 or Q2 = 1 · ``none``:
    otherwise". Decisions [D]: "If Q6 = 1 and ``cssrs_6_recent`` is null, treat the behaviour as
    recent (→ ``high``); the record stays valid. A "yes" to Q3–5 counts even if Q2 = 0.
    ``cssrs_6_recent`` is ignored when Q6 = 0." Skip logic [V]: "If NO to 2, go directly to
    question 6", so Q3–5 are not required when Q2 = 0. "**Total:** always ``null``"; "**Flags:**
    ``cssrs_low_risk``, ``cssrs_moderate_risk`` or ``cssrs_high_risk`` ...; no flag when the
    level is ``none``"."""
    result = score("cssrs_screen", record)
    assert result.valid is True
    assert result.severity == level
    assert result.total is None
    assert result.flags == RISK_FLAGS[level]
    assert result.errors == ()


CSSRS_INVALID: list[tuple[str, dict[str, object], str]] = [
    ("Q1 missing", cssrs(q2=0, q6=0), "none"),
    ("Q1 missing, Q2 yes", cssrs(q2=1, q3=0, q4=0, q5=0, q6=0), "low"),
    ("Q2 missing, Q1 yes", cssrs(q1=1, q6=0), "low"),
    ("Q6 missing, all else no", cssrs(q1=0, q2=0), "none"),
    ("Q6 missing, Q4 yes", cssrs(q1=1, q2=1, q3=0, q4=1, q5=0), "high"),
    ("Q2 yes, Q3-5 all missing", cssrs(q1=0, q2=1, q6=0), "low"),
    ("Q2 yes, Q3 missing, Q4 yes", cssrs(q1=1, q2=1, q4=1, q5=0, q6=0), "high"),
    ("Q2 yes, Q5 missing, Q3 yes", cssrs(q1=1, q2=1, q3=1, q4=0, q6=0), "moderate"),
    ("Q2 yes, Q4 missing, Q6 recent", cssrs(q1=1, q2=1, q3=0, q5=0, q6=1, recent=1), "high"),
    ("everything missing", {}, "none"),
]


@pytest.mark.parametrize(
    ("record", "flag_level"),
    [row[1:] for row in CSSRS_INVALID],
    ids=[row[0] for row in CSSRS_INVALID],
)
def test_cssrs_screen_missing_required_answer(record: dict[str, object], flag_level: str) -> None:
    """C-SSRS validity, spec §2.5: "Q1, Q2 and Q6 are always required, and Q3–5 are required when
    Q2 = 1. If any required answer is missing, ``valid=false`` and ``severity=null``, but flags
    are still derived from the answered items." """
    result = score("cssrs_screen", record)
    assert_invalid(result)
    assert result.flags == RISK_FLAGS[flag_level]


CSSRS_BAD_VALUES: list[tuple[str, dict[str, object]]] = [
    ("Q1 = 2", cssrs(q1=2, q2=0, q6=0)),
    ("Q2 = -1", cssrs(q1=0, q2=-1, q6=0)),
    ("Q6 = 2", cssrs(q1=0, q2=0, q6=2)),
    ("Q3 = 3 with Q2 yes", cssrs(q1=1, q2=1, q3=3, q4=0, q5=0, q6=0)),
    ("recent = 2 with Q6 yes", cssrs(q1=0, q2=0, q6=1, recent=2)),
    ("Q1 string '1'", {**cssrs(q2=0, q6=0), "cssrs_1": "1"}),
    ("Q1 boolean True", {**cssrs(q2=0, q6=0), "cssrs_1": True}),
    ("Q6 boolean False", {**cssrs(q1=0, q2=0), "cssrs_6": False}),
    ("Q2 float 0.5", {**cssrs(q1=0, q6=0), "cssrs_2": 0.5}),
]


@pytest.mark.parametrize(
    "record", [row[1] for row in CSSRS_BAD_VALUES], ids=[row[0] for row in CSSRS_BAD_VALUES]
)
def test_cssrs_screen_values_other_than_0_or_1_are_invalid(record: dict[str, object]) -> None:
    """C-SSRS values, spec §2.5: "0/1 integers only; any other value makes the record invalid";
    §1.2: strings, booleans and non-integers are never allowed."""
    assert_invalid(score("cssrs_screen", record))


def test_cssrs_screen_out_of_range_answer_still_derives_flags_from_the_others() -> None:
    """Spec §1.3 [D]: flags come from "whichever individual safety items are present and in
    range, even when the record as a whole is invalid"; §2.5: Q4 = 1 means ``high``."""
    result = score("cssrs_screen", cssrs(q1=2, q2=1, q3=0, q4=1, q5=0, q6=0))
    assert_invalid(result)
    assert result.flags == ("cssrs_high_risk",)


def test_cssrs_screen_unknown_key_ignored() -> None:
    """Spec §1.1: keys the instrument does not define (e.g. ``cssrs_7``) are ignored."""
    record = cssrs(q1=0, q2=0, q6=0)
    assert score("cssrs_screen", {**record, "cssrs_7": 1, "cssrs_0": "x"}) == score(
        "cssrs_screen", record
    )


# ---------------------------------------------------------------------------------------------
# Configurable [D] rules through DEFAULT_RULES.override
# ---------------------------------------------------------------------------------------------


def test_gad7_max_missing_override_allows_two_missing() -> None:
    """GAD-7, spec §2.2 [D]: "*Uncertain:* some implementations allow 2 missing. Make this
    configurable (``max_missing=1`` by default)." 5 answered summing 7: 7 × 7 / 5 = 9.8 → 10."""
    record = items("gad7", [1, None, 1, 1, None, 1, 3])
    assert_invalid(score("gad7", record))
    assert_invalid(score("gad7", record, rules=DEFAULT_RULES))
    rules = DEFAULT_RULES.override("gad7", max_missing=2)
    result = score("gad7", record, rules=rules)
    assert result.valid is True
    assert result.total == 10
    assert result.severity == "moderate"
    assert result.flags == ("prorated",)
    # Three missing stays invalid, and the defaults are unchanged by the override.
    assert_invalid(score("gad7", items("gad7", [1, None, None, 1, None, 1, 3]), rules=rules))
    assert_invalid(score("gad7", record))


@pytest.mark.parametrize(("total", "raised"), [(30, False), (31, True), (32, True), (33, True)])
def test_pcl5_cutoff_override(total: int, raised: bool) -> None:
    """PCL-5, spec §2.6: "the cut-off is configurable (31–33)"; with ``total_flag_cutoff=31``
    a total of 31 is flagged and 30 is not."""
    rules = DEFAULT_RULES.override("pcl5", total_flag_cutoff=31)
    result = score("pcl5", record_with_total("pcl5", total), rules=rules)
    assert result.total == total
    assert ("pcl5_probable_ptsd" in result.flags) is raised


def test_cssrs_assume_recency_override() -> None:
    """C-SSRS, spec §2.5 [D] "If Q6 = 1 and ``cssrs_6_recent`` is null, treat the behaviour as
    recent (→ ``high``)" and §8.5 "unknown recency is treated as recent"; the assumption is
    configurable, and assuming "not recent" gives ``moderate`` (Q6 = 1 and recent = 0)."""
    record = cssrs(q1=0, q2=0, q6=1, recent=None)
    rules = DEFAULT_RULES.override("cssrs_screen", assume_when_missing={"cssrs_6_recent": 0})
    result = score("cssrs_screen", record, rules=rules)
    assert result.valid is True
    assert result.severity == "moderate"
    assert result.flags == ("cssrs_moderate_risk",)
    assert score("cssrs_screen", record).severity == "high"


@pytest.mark.parametrize(("item10", "raised"), [(0, False), (1, False), (2, True), (6, True)])
def test_madrs_safety_threshold_override(item10: int, raised: bool) -> None:
    """MADRS, spec §2.4 [D]: "Anchor 2 is the first to mention suicidal thoughts ("fleeting"), so
    the threshold is configurable; ≥1 is used as the safety-first default" (§8.4)."""
    rules = DEFAULT_RULES.override("madrs", safety_threshold=2)
    record = {**complete_record("madrs", 0), "madrs_10": item10}
    result = score("madrs", record, rules=rules)
    assert result.valid is True
    assert ("madrs_item10_positive" in result.flags) is raised


# ---------------------------------------------------------------------------------------------
# Result types and unknown instruments (spec §7)
# ---------------------------------------------------------------------------------------------


def test_score_is_a_frozen_dataclass() -> None:
    """Spec §7: "Score is a frozen dataclass: total, severity, flags (sorted), valid, errors"."""
    result = score("phq9", complete_record("phq9", 1))
    assert dataclasses.is_dataclass(result)
    names = {field.name for field in dataclasses.fields(result)}
    assert {"total", "severity", "flags", "valid", "errors"} <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 0


def test_score_accepts_any_mapping() -> None:
    """Spec §7: ``items: Mapping[str, object]``, not only ``dict``."""
    from types import MappingProxyType

    record = complete_record("phq9", 2)
    assert score("phq9", MappingProxyType(record)) == score("phq9", record)


UNKNOWN_INSTRUMENT_CALLS: list[tuple[str, Callable[[str], object]]] = [
    ("score", lambda name: score(name, {})),
    ("score_frame", lambda name: score_frame(name, pd.DataFrame({"x": [1]}))),
    (
        "trajectory",
        lambda name: trajectory(name, baseline_date="2024-01-01", assessments=[]),
    ),
    ("reliable_change", lambda name: reliable_change(name, 10, 5)),
]


@pytest.mark.parametrize("name", ["bdi2", "PHQ9", "phq-9", "", "cadss"])
@pytest.mark.parametrize(
    "call",
    [row[1] for row in UNKNOWN_INSTRUMENT_CALLS],
    ids=[row[0] for row in UNKNOWN_INSTRUMENT_CALLS],
)
def test_unknown_instrument_raises_value_error_naming_known_ids(
    call: Callable[[str], object], name: str
) -> None:
    """Spec §7: "Instrument ids: ``phq9``, ``gad7``, ``qids_sr16``, ``madrs``, ``cssrs_screen``,
    ``pcl5`` ... Unknown instrument ids raise a ``ValueError`` subclass naming the known ones."
    BDI-II is excluded (§2.8) and CADSS is not implemented (§2.7)."""
    with pytest.raises(ValueError) as raised:
        call(name)
    message = str(raised.value)
    for known in ALL_INSTRUMENT_IDS:
        assert known in message


# ---------------------------------------------------------------------------------------------
# score_frame golden cases (spec §7)
# ---------------------------------------------------------------------------------------------

FRAME_FLAG_COLUMNS: dict[str, tuple[str, ...]] = {
    "phq9": ("phq9_item9_positive",),
    "gad7": (),
    "qids_sr16": ("qids_item12_positive",),
    "madrs": ("madrs_item10_positive",),
    "pcl5": ("pcl5_probable_ptsd",),
    "cssrs_screen": ("cssrs_high_risk", "cssrs_low_risk", "cssrs_moderate_risk"),
}

PHQ9_FRAME_ROWS: dict[str, list[int | None]] = {
    "a": [1, 1, 1, 1, 1, 1, 1, 1, 1],  # 9, mild, item 9 positive
    "b": [1, 1, 1, 1, None, 0, 0, 0, 0],  # prorated 4.5 -> 5, mild
    "c": [1, None, None, None, 1, 1, 1, 1, 2],  # invalid, item 9 positive
    "d": [3, 3, 3, 3, 3, 3, 3, 3, 0],  # 24, severe
}
PHQ9_FRAME_EXPECTED = {
    # total, severity, valid, prorated, phq9_item9_positive
    "a": (9, "mild", True, False, True),
    "b": (5, "mild", True, True, False),
    "c": (None, None, False, False, True),
    "d": (24, "severe", True, False, False),
}


def _phq9_frame(dtype: str | None) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(
        {row: dict(items("phq9", values)) for row, values in PHQ9_FRAME_ROWS.items()},
        orient="index",
    )
    if dtype is not None:
        frame = frame.astype(dtype)
    return frame


@pytest.mark.parametrize("dtype", [None, "Int64", "float64", "object"])
def test_score_frame_phq9_golden(dtype: str | None) -> None:
    """Spec §7: ``score_frame`` takes "one row per administration, one column per item key
    (missing = NA)" and "Returns a frame with the same index and columns: total (nullable
    Int64), severity (NA when invalid), valid (bool), prorated (bool), and one bool column per
    flag the instrument can raise, named after the flag." Expected rows follow §2.1 and §1.4
    (4 × 9 / 8 = 4.5 rounds half up to 5) and §1.3 (item-9 flag kept on an invalid record)."""
    frame = _phq9_frame(dtype)
    result = score_frame("phq9", frame)
    assert list(result.index) == list(frame.index)
    assert {"total", "severity", "valid", "prorated", "phq9_item9_positive"} <= set(result.columns)
    assert str(result["total"].dtype) == "Int64"
    assert result["valid"].dtype == bool
    assert result["prorated"].dtype == bool
    assert result["phq9_item9_positive"].dtype == bool
    for row, (total, severity, valid, prorated, flagged) in PHQ9_FRAME_EXPECTED.items():
        got_total = result.loc[row, "total"]
        got_severity = result["severity"].astype(object).loc[row]
        if total is None:
            assert pd.isna(got_total)
            assert pd.isna(got_severity)
        else:
            assert got_total == total
            assert got_severity == severity
        assert bool(result.loc[row, "valid"]) is valid
        assert bool(result.loc[row, "prorated"]) is prorated
        assert bool(result.loc[row, "phq9_item9_positive"]) is flagged


@pytest.mark.parametrize("instrument", list(FRAME_FLAG_COLUMNS))
def test_score_frame_columns(instrument: str) -> None:
    """Spec §7: one bool column per flag the instrument can raise, named after the flag, plus
    ``total``, ``severity``, ``valid`` and ``prorated``; the index is kept."""
    if instrument == "cssrs_screen":
        record: dict[str, object] = cssrs(q1=1, q2=0, q6=0)
    else:
        record = complete_record(instrument, 0)
    frame = pd.DataFrame([record, record], index=pd.Index([101, 7], name="administration"))
    result = score_frame(instrument, frame)
    assert list(result.index) == [101, 7]
    expected = {"total", "severity", "valid", "prorated", *FRAME_FLAG_COLUMNS[instrument]}
    assert expected <= set(result.columns)
    for column in ("valid", "prorated", *FRAME_FLAG_COLUMNS[instrument]):
        assert result[column].dtype == bool, column
    assert str(result["total"].dtype) == "Int64"


def test_score_frame_cssrs_golden() -> None:
    """Spec §2.5 via §7: the risk level is the ``severity`` column, ``total`` is always NA, and
    each risk flag is its own bool column."""
    rows = [
        cssrs(q1=0, q2=0, q6=0),
        cssrs(q1=1, q2=0, q6=0),
        cssrs(q1=0, q2=0, q6=1, recent=0),
        cssrs(q1=0, q2=0, q6=1),
        cssrs(q1=1, q6=0),  # Q2 missing: invalid, flags still derived (low)
    ]
    frame = pd.DataFrame(
        [{key: row.get(key) for key in (*(f"cssrs_{n}" for n in range(1, 7)), "cssrs_6_recent")}
         for row in rows]
    )  # fmt: skip
    result = score_frame("cssrs_screen", frame)
    severities = result["severity"].astype(object)
    expected = [
        ("none", True, ()),
        ("low", True, ("cssrs_low_risk",)),
        ("moderate", True, ("cssrs_moderate_risk",)),
        ("high", True, ("cssrs_high_risk",)),
        (None, False, ("cssrs_low_risk",)),
    ]
    for position, (severity, valid, flags) in enumerate(expected):
        assert pd.isna(result["total"].iloc[position])
        if severity is None:
            assert pd.isna(severities.iloc[position])
        else:
            assert severities.iloc[position] == severity
        assert bool(result["valid"].iloc[position]) is valid
        for flag in FRAME_FLAG_COLUMNS["cssrs_screen"]:
            assert bool(result[flag].iloc[position]) is (flag in flags)
