"""``outcomes``: what this installation knows (until the app and its commands exist)."""

from __future__ import annotations

from outcomes import __version__
from outcomes.instruments import INSTRUMENTS

DISCLAIMER = (
    "Clinical decision support, not a diagnosis: scores and outcome markers inform a "
    "clinician's judgement and never replace it."
)


def describe() -> str:
    """A short, plain description of the library and its instruments."""
    lines = [f"Infusion Outcomes {__version__}", DISCLAIMER, "", "Instruments:"]
    for instrument in INSTRUMENTS:
        total = f"total 0-{instrument.max_total}" if instrument.has_total else "risk triage"
        lines.append(
            f"  {instrument.id:<13} {instrument.name:<25} {len(instrument.items):>2} items, "
            f"{total}, rated by {instrument.rater}"
        )
    return "\n".join(lines)


def main() -> None:
    print(describe())


if __name__ == "__main__":
    main()
