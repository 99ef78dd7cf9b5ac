"""A printable one-page summary of a patient's course (HTML, prints cleanly on A4/Letter)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.patient_label import patient_label_text
from data.records.patient_record import PatientRecord
from outcomes.episodes import Episode
from outcomes.rules import DEFAULT_RULES, Rules
from outcomes.status import status_label


def _shown(value: Any, suffix: str = "") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return f"{value}{suffix}"


def summary_html(
    record: PatientRecord,
    instrument_name: str,
    course: Mapping[str, Any] | None,
    infusions: int,
    *,
    today: dt.date | None = None,
    rules: Rules = DEFAULT_RULES,
    episodes: Sequence[Episode] = (),
) -> str:
    """The patient's course on one page: identity, status, baseline, latest, onset, durability.

    The status is the course row's current status (:func:`outcomes.status.current_status`),
    read on the day the row was computed; response, remission, relapse and durability are
    the first episode's (spec §3). ``episodes`` (:func:`outcomes.episodes.episodes`), when
    given, adds each later response after a relapse.
    """
    today = today or dt.date.today()
    rows = [
        ("Instrument", instrument_name),
        ("Protocol", record.protocol or "—"),
        ("Infusions received", str(infusions)),
    ]
    if course is not None:
        rows += [
            (f"Status on {today.isoformat()}", status_label(course.get("status"))),
            ("Baseline", _shown(course.get("baseline_total"))),
            (
                "Latest",
                f"{_shown(course.get('latest_total'))} on {_shown(course.get('latest_date'))}",
            ),
            (
                f"Response (≥ {float(rules.response_min_drop):.0%} below baseline)",
                f"{_shown(course.get('response_date'))}: day "
                f"{_shown(course.get('days_to_response'))}, after "
                f"{_shown(course.get('infusions_to_response'))} infusions",
            ),
            ("Remission", _shown(course.get("remission_date"))),
            ("Relapse (confirmed)", _shown(course.get("relapse_date"))),
            (
                "Durable response",
                _shown(course.get("durable_response_days"), " days")
                + ("+" if course.get("censored") else ""),
            ),
        ]
        rows += [
            (
                f"Response again (episode {episode.number})",
                f"{episode.response_date.isoformat()}: day {episode.days_to_response}, "
                + (
                    f"relapsed {episode.relapse_date.isoformat()}"
                    if episode.relapse_date is not None
                    else f"lasting {episode.durable_response_days}+ days"
                ),
            )
            for episode in episodes[1:]
        ]
    table = "\n".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    # The patient as on every page: name, MRN, date of birth and age (patients share names).
    label = patient_label_text(record.name, record.external_id, record.date_of_birth, today=today)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(label)}: course summary</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; color: #222; }}
th {{ text-align: left; padding: .3rem 1rem .3rem 0; vertical-align: top; width: 40%; }}
td {{ padding: .3rem 0; }}
footer {{ margin-top: 2rem; font-size: .8rem; color: #555; }}
</style></head><body>
<h1>{html.escape(label)}</h1>
<p>Care team: {html.escape(record.assigned_clinician or "—")}</p>
<table>{table}</table>
<footer>Printed {today.isoformat()} from Infusion Outcomes. Clinical decision support, not a
diagnosis.</footer>
</body></html>
"""
