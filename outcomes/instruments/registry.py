"""The one registry: every instrument this library scores, and the lookups over it.

Scoring, rules, FHIR, import and every page read instruments from here, so an entry added to
:data:`INSTRUMENTS` is scored, imported, exported and offered in every picker without new code.
"""

from __future__ import annotations

from outcomes.errors import UnknownInstrumentError
from outcomes.instruments.cssrs import CSSRS_SCREEN
from outcomes.instruments.madrs import MADRS
from outcomes.instruments.model import Instrument
from outcomes.instruments.pcl5 import PCL5
from outcomes.instruments.phq import GAD7, PHQ9
from outcomes.instruments.qids import QIDS_SR16

__all__ = [
    "INSTRUMENTS",
    "clinician_rated_instruments",
    "course_instruments",
    "get_instrument",
    "instrument_ids",
]

INSTRUMENTS: tuple[Instrument, ...] = (PHQ9, GAD7, QIDS_SR16, MADRS, CSSRS_SCREEN, PCL5)
"""The registry: every instrument this library scores, in display order."""

_BY_ID: dict[str, Instrument] = {instrument.id: instrument for instrument in INSTRUMENTS}


def instrument_ids() -> tuple[str, ...]:
    """The ids of every known instrument, in registry order."""
    return tuple(_BY_ID)


def course_instruments() -> tuple[Instrument, ...]:
    """Instruments a course is followed with, in registry order: those with a total and a
    remission threshold, so that response, remission and relapse are defined (spec §3).

    Read at call time, so an entry added to the registry appears in every picker.
    """
    return tuple(i for i in INSTRUMENTS if i.has_total and i.remission_max_total is not None)


def clinician_rated_instruments() -> tuple[Instrument, ...]:
    """Course instruments a clinician rates (MADRS), in registry order."""
    return tuple(i for i in course_instruments() if i.rater == "clinician")


def get_instrument(instrument: str | Instrument) -> Instrument:
    """Look an instrument up by id (an :class:`Instrument` is returned as it is).

    Raises
    ------
    UnknownInstrumentError
        For an id that is not in :data:`INSTRUMENTS`; the message lists the known ids.
    """
    if isinstance(instrument, Instrument):
        return instrument
    try:
        return _BY_ID[instrument]
    except (KeyError, TypeError):
        raise UnknownInstrumentError(instrument, instrument_ids()) from None
