"""Infusion Outcomes: scoring and outcome metrics for ketamine infusion clinics.

Pure functions over dataclasses and DataFrames: no database, no user interface. The public API
is specified in ``shared/clinical/scoring-spec.md`` §7::

    from outcomes import score, score_frame, trajectory, reliable_change

and in ``shared/clinical/course-and-reporting.md`` §8::

    from outcomes import episodes, current_status, rate_with_interval

This is clinical decision support, not a diagnosis.
"""

from outcomes.episodes import Episode, episodes
from outcomes.errors import OutcomesError, OutcomeWarning, ScoringError, UnknownInstrumentError
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument, instrument_ids
from outcomes.rates import Rate, rate_with_interval
from outcomes.rules import DEFAULT_RULES, InstrumentRules, Rules
from outcomes.scoring import PRORATED, Score, score, score_frame
from outcomes.status import STATUS_LABELS, current_status, status_label
from outcomes.trajectory import Change, Trajectory, reliable_change, trajectory

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RULES",
    "INSTRUMENTS",
    "PRORATED",
    "STATUS_LABELS",
    "Change",
    "Episode",
    "Instrument",
    "InstrumentRules",
    "OutcomeWarning",
    "OutcomesError",
    "Rate",
    "Rules",
    "Score",
    "ScoringError",
    "Trajectory",
    "UnknownInstrumentError",
    "__version__",
    "current_status",
    "episodes",
    "get_instrument",
    "instrument_ids",
    "rate_with_interval",
    "reliable_change",
    "score",
    "score_frame",
    "status_label",
    "trajectory",
]
