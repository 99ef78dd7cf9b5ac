"""What a patient id and a patient name may hold: one rule for every way a patient is created.

A patient's id and name come from people and from files (a clinician's form, a CSV or FHIR
import, the demo clinic) and are shown on every page, in charts and in downloads. They are
shown as plain text, and they are also kept to a narrow form here, so that nothing stored can
read as markup, break a line or a table, or pass for another patient:

* **Patient id** (the clinic's own record number, :attr:`data.models.Patient.external_id`):
  1 to :data:`PATIENT_ID_MAX_LENGTH` characters, each an ASCII letter, a digit, a space, or
  one of ``-`` ``_`` ``.`` ``/`` (:data:`PATIENT_ID_CHARACTERS`), the first a letter or a
  digit (so an id never starts a spreadsheet formula or a path); no trailing space. 64 is
  the length of a FHIR ``id``; record numbers are far shorter.
* **Name**: 1 to :data:`PATIENT_NAME_MAX_LENGTH` characters of one line of text: letters of
  any script, but no control character (NUL, tab, line breaks, ...), no line or paragraph
  separator and no text-direction control (which can make a name display as another).

Problems name the field and the rule, never the value: they may end up in logs.

:func:`patient_problems` is called by :func:`data.records.patients.create_patient`, the
importers (:mod:`data.interchange`) and the demo clinic (:mod:`data.demo`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "PATIENT_ID_CHARACTERS",
    "PATIENT_ID_MAX_LENGTH",
    "PATIENT_ID_RULE",
    "PATIENT_NAME_MAX_LENGTH",
    "PATIENT_NAME_RULE",
    "patient_id_problem",
    "patient_name_problem",
    "patient_problems",
]

PATIENT_ID_MAX_LENGTH = 64
"""Longest patient id, in characters (a FHIR ``id`` has at most 64)."""
PATIENT_ID_CHARACTERS = "letters A-Z and a-z, digits 0-9, space, and - _ . /"
"""The characters a patient id may hold, as the documentation and messages say them."""
PATIENT_NAME_MAX_LENGTH = 200
"""Longest patient name, in characters (the column's length)."""

PATIENT_ID_RULE = (
    f"a patient id has 1 to {PATIENT_ID_MAX_LENGTH} characters: {PATIENT_ID_CHARACTERS}, "
    "starting with a letter or a digit"
)
PATIENT_NAME_RULE = (
    f"a name is one line of 1 to {PATIENT_NAME_MAX_LENGTH} characters, without control "
    "characters, line breaks or text-direction controls"
)

_ID = re.compile(
    rf"[A-Za-z0-9](?:[A-Za-z0-9 ._/-]{{0,{PATIENT_ID_MAX_LENGTH - 2}}}[A-Za-z0-9._/-])?"
)
# Control characters (Cc: NUL, tab, CR, LF, ...), surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Embeddings, overrides and isolates reorder what follows them on screen ("Trojan source").
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def patient_id_problem(external_id: str, *, field: str = "patient_id") -> str | None:
    """Why ``external_id`` cannot be a patient id, or None if it can.

    Parameters
    ----------
    external_id : str
        The id as it will be stored (already stripped of surrounding spaces by the caller).
    field : str, default "patient_id"
        How to name the field in the message.

    Returns
    -------
    str or None
        A message that names the field and the rule, never the value.
    """
    if not external_id:
        return f"{field} is empty; {PATIENT_ID_RULE}"
    if _ID.fullmatch(external_id) is None:
        if len(external_id) > PATIENT_ID_MAX_LENGTH:
            return f"{field} is longer than {PATIENT_ID_MAX_LENGTH} characters; {PATIENT_ID_RULE}"
        return f"{field} holds a character that is not allowed; {PATIENT_ID_RULE}"
    return None


def patient_name_problem(name: str, *, field: str = "name") -> str | None:
    """Why ``name`` cannot be a patient's name, or None if it can (see the module notes)."""
    if not name.strip():
        return f"{field} is empty; {PATIENT_NAME_RULE}"
    if len(name) > PATIENT_NAME_MAX_LENGTH:
        return f"{field} is longer than {PATIENT_NAME_MAX_LENGTH} characters; {PATIENT_NAME_RULE}"
    for character in name:
        if (
            unicodedata.category(character) in _REFUSED_CATEGORIES
            or character in _DIRECTION_CONTROLS
        ):
            return f"{field} holds a control character or a line break; {PATIENT_NAME_RULE}"
    return None


def patient_problems(*, external_id: str, name: str) -> list[str]:
    """Every problem of a patient's id and name (empty when both may be stored)."""
    problems = [patient_id_problem(external_id), patient_name_problem(name)]
    return [problem for problem in problems if problem is not None]
