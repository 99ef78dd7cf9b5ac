"""Rule choices, in one settings object, with the published (or spec-decided) rule as default.

Where the literature gives no single rule the spec makes a decision, marked **[D]** in
``shared/clinical/scoring-spec.md``. Each such decision is a field here. A clinic changes a
rule by deriving a new :class:`Rules` with :meth:`Rules.override`; the registry in
:mod:`outcomes.instruments` is never edited in place.

Examples
--------
>>> from outcomes.rules import DEFAULT_RULES
>>> lenient = DEFAULT_RULES.override("gad7", max_missing=2)
>>> lenient.for_instrument("gad7").max_missing
2
>>> DEFAULT_RULES.for_instrument("gad7").max_missing
1
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from outcomes.errors import RulesError
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument


@dataclass(frozen=True)
class InstrumentRules:
    """The configurable rules of one instrument.

    Attributes
    ----------
    max_missing : int
        Domains (items, for a plain sum scale) that may be missing; up to this many are
        prorated, more make the record invalid. Spec §1.4, §2: PHQ-9 2 [V]; GAD-7 1 [D];
        QIDS-SR16, MADRS, PCL-5 0 [D].
    safety_threshold : int
        Answer at or above which a safety item raises its flag (spec §2, all ``>= 1`` [D]).
    total_flag_cutoff : int or None
        Total at or above which a total-based flag is raised (PCL-5 probable PTSD, 33 [D],
        within the published 31-33).
    remission_max_total : int or None
        Highest total that counts as remission (PHQ-9/GAD-7 ``< 5``, QIDS ``<= 5``,
        MADRS ``<= 12``; spec §3).
    relapse_floor : int or None
        Total at or above which a lost response can count as relapse (spec §3 [D]).
    reliable_change_points : int or None
        Points of change that count as reliable (PHQ-9 6, GAD-7 4; spec §4).
    mcid_points : int or None
        Minimal clinically important improvement (PHQ-9 5 points; Löwe et al. 2004).
    assume_when_missing : Mapping[str, int]
        Answers assumed for unanswered items when computing a risk level (C-SSRS: behaviour of
        unknown recency is treated as recent, spec §2.5 [D]). Never affects validity.
    """

    max_missing: int
    safety_threshold: int
    total_flag_cutoff: int | None
    remission_max_total: int | None
    relapse_floor: int | None
    reliable_change_points: int | None
    mcid_points: int | None
    assume_when_missing: Mapping[str, int]

    @classmethod
    def from_instrument(cls, instrument: Instrument) -> InstrumentRules:
        """The spec's defaults, as written in the registry entry."""
        thresholds = {s.threshold for s in instrument.safety_items} or {1}
        cutoffs = [t.cutoff for t in instrument.total_flags]
        return cls(
            max_missing=instrument.max_missing,
            safety_threshold=min(thresholds),
            total_flag_cutoff=cutoffs[0] if cutoffs else None,
            remission_max_total=instrument.remission_max_total,
            relapse_floor=instrument.relapse_floor,
            reliable_change_points=instrument.reliable_change_points,
            mcid_points=instrument.mcid_points,
            assume_when_missing=MappingProxyType(dict(instrument.assume_when_missing)),
        )

    def validate(self, instrument: Instrument) -> None:
        """Raise :class:`RulesError` when a value is impossible for ``instrument``."""
        max_total = instrument.max_total
        n_domains = len(instrument.domains)
        if instrument.has_total and not 0 <= self.max_missing < n_domains:
            raise RulesError(
                f"{instrument.id}: max_missing must be between 0 and {n_domains - 1}, "
                f"got {self.max_missing}"
            )
        if not instrument.min_value < self.safety_threshold <= instrument.max_value:
            raise RulesError(
                f"{instrument.id}: safety_threshold must be between {instrument.min_value + 1} "
                f"and {instrument.max_value}, got {self.safety_threshold}"
            )
        for name in ("total_flag_cutoff", "remission_max_total", "relapse_floor"):
            value = getattr(self, name)
            if value is None:
                continue
            if max_total is None or not 0 <= value <= max_total:
                raise RulesError(
                    f"{instrument.id}: {name} must be a total between 0 and {max_total}, "
                    f"got {value}"
                )
        for name in ("reliable_change_points", "mcid_points"):
            value = getattr(self, name)
            if value is not None and (max_total is None or not 0 < value <= max_total):
                raise RulesError(
                    f"{instrument.id}: {name} must be between 1 and {max_total}, got {value}"
                )
        for key, value in self.assume_when_missing.items():
            if key not in instrument.item_keys:
                raise RulesError(f"{instrument.id}: assume_when_missing names unknown item {key!r}")
            if not instrument.min_value <= value <= instrument.max_value:
                raise RulesError(
                    f"{instrument.id}: assumed answer {value} for {key} is out of range"
                )


def _default_instrument_rules() -> Mapping[str, InstrumentRules]:
    return MappingProxyType({i.id: InstrumentRules.from_instrument(i) for i in INSTRUMENTS})


@dataclass(frozen=True)
class Rules:
    """Every rule choice of the library, instrument-specific and course-wide.

    Attributes
    ----------
    instruments : Mapping[str, InstrumentRules]
        Per-instrument rules, keyed by instrument id.
    response_min_drop : Fraction
        Fraction of the baseline total the score must fall by for a response: 1/2, i.e. a
        >= 50% reduction, with exactly 50% counting (STAR*D, Trivedi et al. 2006; spec §3).
        Compared in exact rational arithmetic, never floating point.
    relapse_confirmations : int
        Consecutive qualifying assessments that confirm a relapse (2, adapted from SUSTAIN-1,
        Daly et al. 2019; spec §3 [D]).
    induction_infusions : int
        Infusions in an induction course (6: the usual protocol of six infusions over two to
        three weeks). Assessments after more infusions than this are in *maintenance*.
    end_of_induction_window_days : int
        The end-of-induction assessment is the first valid one after the last induction
        infusion and within this many days of it [D].
    timepoint_window_days : int
        The assessment for "week *w*" is the one nearest to day ``7*w`` after the first
        infusion, within this many days either side [D].
    after_course_days : int
        An assessment more than this many days after the patient's latest infusion is
        *after the course* [D] (maintenance infusions are weeks to months apart). A patient
        with neither an infusion nor a score within this many days has ended the course
        (course-and-reporting §2, ``course_ended``).
    lost_to_follow_up_days : int
        A patient in treatment (an infusion within ``after_course_days``) whose latest valid
        score is more than this many days old is *lost to follow-up* (28, course-and-reporting
        §2 [D]).
    booster_recency_cadences : int
        The worklist prompts a booster for a patient losing response or relapsed only while
        the latest score is at most this many check-in cadences old (2, i.e. 14 days with
        weekly check-ins; course-and-reporting §2 [D]); an older score asks for a check-in
        instead, never for a booster on data months old.
    early_days : int
        A scheduled check-in's window opens this many days before its due date (1,
        course-and-reporting §3 [D]). 0 opens it on the due date itself.
    grace_days : int
        A scheduled check-in's window closes this many days after its due date (2,
        course-and-reporting §3 [D]); the worklist calls a check-in *overdue* once its due
        date is more than this many days past. A patient who has stored a check-in of an
        instrument in a window is not offered another one of it before the next window
        opens (:mod:`outcomes.checkin_windows`).
    correction_hours : int
        For this many hours after a check-in is stored the patient may correct their own
        answers (24, course-and-reporting §3 [D]): the correction is a new record linked to
        the one it corrects, both are kept and the latest counts. 0 allows no correction.
    """

    instruments: Mapping[str, InstrumentRules] = field(default_factory=_default_instrument_rules)
    response_min_drop: Fraction = Fraction(1, 2)
    relapse_confirmations: int = 2
    induction_infusions: int = 6
    end_of_induction_window_days: int = 14
    timepoint_window_days: int = 7
    after_course_days: int = 90
    lost_to_follow_up_days: int = 28
    booster_recency_cadences: int = 2
    early_days: int = 1
    grace_days: int = 2
    correction_hours: int = 24

    def __post_init__(self) -> None:
        if not 0 < self.response_min_drop <= 1:
            raise RulesError(f"response_min_drop must be in (0, 1], got {self.response_min_drop}")
        for name in (
            "relapse_confirmations",
            "induction_infusions",
            "end_of_induction_window_days",
            "timepoint_window_days",
            "after_course_days",
            "lost_to_follow_up_days",
            "booster_recency_cadences",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise RulesError(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in ("early_days", "grace_days", "correction_hours"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RulesError(f"{name} must be a whole number of at least 0, got {value!r}")
        for instrument_id, instrument_rules in self.instruments.items():
            instrument_rules.validate(get_instrument(instrument_id))

    def for_instrument(self, instrument: str | Instrument) -> InstrumentRules:
        """The rules for one instrument (its registry defaults unless overridden)."""
        definition = get_instrument(instrument)
        found = self.instruments.get(definition.id)
        return found if found is not None else InstrumentRules.from_instrument(definition)

    def override(self, instrument: str | None = None, /, **changes: Any) -> Rules:
        """A copy with some rules changed; the original is unchanged.

        ``override("gad7", max_missing=2)`` changes one instrument's rules;
        ``override(induction_infusions=8)`` changes a course-wide rule. Unknown names and
        impossible values raise :class:`RulesError`.
        """
        if instrument is None:
            known = {f.name for f in fields(self)} - {"instruments"}
            unknown = set(changes) - known
            if unknown:
                raise RulesError(
                    f"unknown course rule(s) {sorted(unknown)}; known: {sorted(known)}"
                )
            if "response_min_drop" in changes:
                changes["response_min_drop"] = Fraction(changes["response_min_drop"])
            return replace(self, **changes)
        definition = get_instrument(instrument)
        known = {f.name for f in fields(InstrumentRules)}
        unknown = set(changes) - known
        if unknown:
            raise RulesError(
                f"unknown rule(s) {sorted(unknown)} for {definition.id}; known: {sorted(known)}"
            )
        if "assume_when_missing" in changes:
            changes["assume_when_missing"] = MappingProxyType(dict(changes["assume_when_missing"]))
        updated = replace(self.for_instrument(definition), **changes)
        updated.validate(definition)
        merged = dict(self.instruments)
        merged[definition.id] = updated
        return replace(self, instruments=MappingProxyType(merged))


DEFAULT_RULES = Rules()
"""The spec's rules, unchanged."""
