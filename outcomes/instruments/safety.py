"""Which flags of a score are safety events: the answers a care team must follow up.

A positive self-harm item (PHQ-9 item 9, QIDS-SR16 item 12, MADRS item 10) or a C-SSRS risk
level is a safety event: storing such an answer raises a safety alert for the care team
(``data.records.alerts``). Other flags (proration, a probable-PTSD total) are not. Which flags
count is data in each instrument's registry entry (its ``safety_items`` and
``risk_levels``), so a new instrument's safety items count without new code here.
"""

from __future__ import annotations

from outcomes.instruments.model import Instrument

__all__ = ["safety_alert_kinds"]


def safety_alert_kinds(instrument: Instrument, flags: tuple[str, ...]) -> tuple[str, ...]:
    """The flags of a score that are safety events, in the order given.

    Parameters
    ----------
    instrument : Instrument
        The registry entry the score belongs to.
    flags : tuple of str
        The score's flags (``Score.flags``).

    Returns
    -------
    tuple of str
        The self-harm item flags and C-SSRS risk-level flags among ``flags``.
    """
    safety = {s.flag for s in instrument.safety_items}
    safety |= {r.flag for r in instrument.risk_levels if r.flag is not None}
    return tuple(flag for flag in flags if flag in safety)
