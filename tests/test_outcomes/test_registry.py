"""The instrument registry and the rule settings are consistent and complete."""

from __future__ import annotations

import importlib
import pkgutil
from fractions import Fraction

import pytest

from outcomes import INSTRUMENTS, get_instrument, instrument_ids
from outcomes.__main__ import describe
from outcomes.errors import RulesError, UnknownInstrumentError
from outcomes.instruments import Instrument
from outcomes.instruments.safety import safety_alert_kinds
from outcomes.rules import DEFAULT_RULES

SPEC_IDS = ("phq9", "gad7", "qids_sr16", "madrs", "cssrs_screen", "pcl5")


def test_registry_holds_the_spec_instruments_in_order() -> None:
    assert instrument_ids() == SPEC_IDS


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_every_instrument_is_complete_and_self_consistent(instrument) -> None:
    assert instrument.citation and instrument.licence
    keys = instrument.item_keys
    assert len(keys) == len(set(keys))
    assert all(key.startswith(instrument.id.split("_")[0]) for key in keys)
    in_domains = [key for domain in instrument.domains for key in domain.items]
    assert len(in_domains) == len(set(in_domains))
    assert set(in_domains) <= set(instrument.scored_item_keys)
    for band_below, band_above in zip(instrument.bands, instrument.bands[1:], strict=False):
        assert band_above.lower == band_below.upper + 1  # bands tile the range, no gaps
    if instrument.bands:
        assert instrument.bands[0].lower == 0
        assert instrument.bands[-1].upper == instrument.max_total
    for safety in instrument.safety_items:
        assert safety.item in instrument.scored_item_keys
    if instrument.answer_loinc:
        assert len(instrument.answer_loinc) == instrument.max_value - instrument.min_value + 1


def test_loinc_codes_of_spec_section_5() -> None:
    """scoring-spec §5 (HL7 personal-health-record IG; SDC Questionnaire examples)."""
    phq9, gad7 = get_instrument("phq9"), get_instrument("gad7")
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    assert [i.loinc for i in phq9.items[:9]] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    assert [i.loinc for i in gad7.items] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    ]
    assert phq9.answer_loinc == ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")


def test_unknown_instrument_names_the_known_ones() -> None:
    with pytest.raises(UnknownInstrumentError) as raised:
        get_instrument("bdi2")
    assert isinstance(raised.value, ValueError)
    for known in SPEC_IDS:
        assert known in str(raised.value)


def test_rule_defaults_are_the_spec_values() -> None:
    """scoring-spec §1-§4: the [D] and [V] defaults."""
    expected = {
        "phq9": (2, 4, 10, 6, 5),
        "gad7": (1, 4, 10, 4, None),
        "qids_sr16": (0, 5, 11, None, None),
        "madrs": (0, 12, 22, None, None),
    }
    for instrument, values in expected.items():
        rules = DEFAULT_RULES.for_instrument(instrument)
        assert (
            rules.max_missing,
            rules.remission_max_total,
            rules.relapse_floor,
            rules.reliable_change_points,
            rules.mcid_points,
        ) == values
    assert DEFAULT_RULES.for_instrument("pcl5").total_flag_cutoff == 33
    assert dict(DEFAULT_RULES.for_instrument("cssrs_screen").assume_when_missing) == {
        "cssrs_6_recent": 1
    }
    assert DEFAULT_RULES.response_min_drop == Fraction(1, 2)
    assert DEFAULT_RULES.relapse_confirmations == 2


def test_override_returns_a_new_object_and_leaves_the_defaults_alone() -> None:
    changed = DEFAULT_RULES.override("gad7", max_missing=2).override(relapse_confirmations=3)
    assert changed.for_instrument("gad7").max_missing == 2
    assert changed.relapse_confirmations == 3
    assert DEFAULT_RULES.for_instrument("gad7").max_missing == 1
    assert DEFAULT_RULES.relapse_confirmations == 2


@pytest.mark.parametrize(
    ("instrument", "changes", "message"),
    [
        ("gad7", {"max_missing": 7}, "max_missing must be between 0 and 6"),
        ("phq9", {"remission_max_total": 28}, "between 0 and 27"),
        ("phq9", {"safety_threshold": 0}, "safety_threshold"),
        ("phq9", {"no_such_rule": 1}, "unknown rule"),
        ("cssrs_screen", {"assume_when_missing": {"cssrs_9": 1}}, "unknown item"),
        (None, {"response_min_drop": 0}, "response_min_drop"),
        (None, {"induction_infusions": 0}, "induction_infusions"),
        (None, {"colour": "blue"}, "unknown course rule"),
    ],
)
def test_impossible_overrides_are_refused_with_a_reason(instrument, changes, message) -> None:
    with pytest.raises(RulesError, match=message):
        if instrument is None:
            DEFAULT_RULES.override(**changes)
        else:
            DEFAULT_RULES.override(instrument, **changes)


def test_describe_lists_every_instrument_and_the_disclaimer() -> None:
    text = describe()
    assert "not a diagnosis" in text
    for instrument in INSTRUMENTS:
        assert instrument.id in text


def test_course_instruments_are_those_with_a_total_and_a_remission_rule() -> None:
    from outcomes.instruments import clinician_rated_instruments, course_instruments

    followed = course_instruments()
    assert [i.id for i in followed] == ["phq9", "gad7", "qids_sr16", "madrs"]
    assert all(i.has_total and i.remission_max_total is not None for i in followed)
    # The C-SSRS screener has no total; PCL-5 has no remission threshold (spec §2.6).
    assert [i.id for i in clinician_rated_instruments()] == ["madrs"]


def test_every_instrument_module_has_its_registry_row() -> None:
    """Adding an instrument is one module and one registry row (outcomes/instruments/__init__):
    an entry whose row is forgotten would be scored, imported and offered nowhere."""
    package = importlib.import_module("outcomes.instruments")
    defined = {
        value.id
        for info in pkgutil.iter_modules(package.__path__)
        for value in vars(importlib.import_module(f"{package.__name__}.{info.name}")).values()
        if isinstance(value, Instrument)
    }
    assert defined == set(instrument_ids())


def test_every_course_status_has_words() -> None:
    import pandas as pd

    from outcomes.course import course_outcomes
    from outcomes.status import STATUS_LABELS, STATUSES

    day0 = pd.Timestamp("2024-01-01")
    induction = [0, 2, 4, 7, 9, 11]
    patients = {
        "responding": (induction, [(0, 20), (65, 8)]),
        "in_remission": (induction, [(0, 20), (65, 3)]),
        "losing_response": (induction, [(0, 20), (14, 3), (60, 18)]),
        "relapsed": (induction, [(0, 20), (14, 3), (60, 18), (67, 19)]),
        "not_yet_responded": (induction, [(0, 20), (65, 18)]),
        "no_follow_up": (induction, [(0, 20)]),
        "no_baseline": (induction, [(20, 20)]),
        "lost_to_follow_up": ([*induction, 60], [(0, 20), (14, 8)]),
        "course_ended": ([-30], [(-31, 20), (-25, 8)]),
    }
    infusions = pd.DataFrame(
        [(p, day0 + pd.Timedelta(days=d)) for p, (days, _) in patients.items() for d in days],
        columns=["patient_id", "administered_at"],
    )
    scores = pd.DataFrame(
        [
            (p, day0 + pd.Timedelta(days=d), total)
            for p, (_, answers) in patients.items()
            for d, total in answers
        ],
        columns=["patient_id", "administered_at", "total"],
    )
    # Read on day 70: every course is in treatment and seen within 28 days but those named
    # otherwise (course_ended: nothing for 95 days; lost_to_follow_up: no score for 56).
    courses = course_outcomes("phq9", scores, infusions, today=day0 + pd.Timedelta(days=70))
    assert {p: courses.loc[p, "status"] for p in patients} == {p: p for p in patients}
    assert set(STATUS_LABELS) == set(patients) == set(STATUSES)


def test_patient_facing_topics_are_set_for_patient_rated_depression_and_anxiety_scales() -> None:
    assert get_instrument("phq9").topic == "Mood"
    assert get_instrument("gad7").topic == "Anxiety"
    assert get_instrument("qids_sr16").topic == "Mood"


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_only_an_instruments_safety_flags_are_safety_events(instrument: Instrument) -> None:
    """Self-harm items and C-SSRS risk levels raise alerts; proration or a total cut-off
    flag (PCL-5) never does."""
    safety = [s.flag for s in instrument.safety_items]
    safety += [r.flag for r in instrument.risk_levels if r.flag is not None]
    flags = (*safety, "prorated", "pcl5_probable_ptsd")
    assert safety_alert_kinds(instrument, tuple(flags)) == tuple(safety)
    assert safety_alert_kinds(instrument, ("prorated",)) == ()
