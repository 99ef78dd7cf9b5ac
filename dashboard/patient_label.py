"""How a patient is named on every page: name, MRN, date of birth and age.

A clinic may have several patients of the same name (the demo clinic has three "Casey
Example"s): wherever a patient is named (worklist rows, alert cards, search results, the
patient header, file names), the care team sees the four facts that tell them apart, the
identifiers The Joint Commission's patient-identification goal asks for (at least two, never
the room or bed).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from dashboard.plain import literal


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    """Whole years of age on ``today`` (a birthday counts from its own day)."""
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - int(before_birthday)


def patient_label_text(
    name: str, external_id: str, date_of_birth: dt.date | None, *, today: dt.date
) -> str:
    """``Casey Example · MRN 00123 · born 1980-02-03 (45)`` as plain text (for widgets that
    show text as typed: select boxes, tables)."""
    born = "born unknown"
    if date_of_birth is not None:
        born = f"born {date_of_birth.isoformat()} ({age_on(date_of_birth, today)})"
    return f"{name} · MRN {external_id} · {born}"


def patient_label(
    name: str, external_id: str, date_of_birth: dt.date | None, *, today: dt.date
) -> str:
    """:func:`patient_label_text` with the supplied name and MRN made literal for Markdown."""
    return patient_label_text(literal(name), literal(external_id), date_of_birth, today=today)


def file_name_part(name: str, external_id: str, date_of_birth: dt.date | None) -> str:
    """The patient in a downloaded file's name: ``Casey-Example_MRN-00123_1980-02-03``.

    Accents are dropped (``Zoë`` becomes ``Zoe``) and then only ASCII letters, digits, ``-`` and
    ``_`` survive, so a name can never choose a folder or an extension.
    """
    parts = [
        unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        for part in (name, f"MRN-{external_id}")
    ]
    if date_of_birth is not None:
        parts.append(date_of_birth.isoformat())
    cleaned = [re.sub(r"[^\w-]+", "-", part, flags=re.ASCII).strip("-") for part in parts]
    return "_".join(part for part in cleaned if part) or "patient"
