"""Which pages each role sees; the first one is where the role lands after signing in."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "app_pages"

# (file, title, icon) per role, in menu order.
ROLE_PAGES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "patient": (
        ("patient/checkin.py", "Check-in", ":material/edit_note:"),
        ("patient/progress.py", "My progress", ":material/show_chart:"),
    ),
    "clinician": (
        ("clinician/worklist.py", "Worklist", ":material/checklist:"),
        ("clinician/patient.py", "Patient", ":material/person:"),
    ),
    "administrator": (
        ("admin/outcomes.py", "Outcomes", ":material/monitoring:"),
        ("admin/users.py", "Users", ":material/group:"),
        ("admin/audit.py", "Audit log", ":material/policy:"),
    ),
}


def page_files(role: str) -> tuple[str, ...]:
    """The page files of a role (none for an unknown role)."""
    return tuple(path for path, _, _ in ROLE_PAGES.get(role, ()))


def pages_for(role: str) -> list[st.Page]:
    """The role's pages as ``st.Page`` objects, the landing page first and default."""
    return [
        st.Page(str(PAGES / path), title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(ROLE_PAGES.get(role, ()))
    ]
