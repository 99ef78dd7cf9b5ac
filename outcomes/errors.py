"""Exceptions and warnings raised by :mod:`outcomes`.

Invalid *answers* never raise from the scoring functions: they come back as ``valid=False``
with readable ``errors``. Exceptions are for mistakes of the caller (an unknown instrument,
an unreadable FHIR resource, impossible dates), and their messages say what to do next.
"""

from __future__ import annotations


class OutcomesError(ValueError):
    """Base class of every error this library raises on purpose."""


class UnknownInstrumentError(OutcomesError):
    """An instrument id that is not in the registry.

    The message names every known id so that the caller can correct the call.
    """

    def __init__(self, instrument: object, known: tuple[str, ...]) -> None:
        self.instrument = instrument
        self.known = known
        super().__init__(
            f"unknown instrument {instrument!r}; known instruments are: {', '.join(known)}"
        )


class ScoringError(OutcomesError):
    """Input that cannot be scored at all (wrong shape or types of the call, not of answers)."""


class RulesError(OutcomesError):
    """A rule override that does not exist or has an impossible value."""


class FhirError(OutcomesError):
    """A FHIR resource that cannot be read; the message says what is wrong and where."""


class OutcomeWarning(UserWarning):
    """A questionable but computable result (for example a baseline of zero)."""
