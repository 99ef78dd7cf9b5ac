"""Which pages each role sees; the first one is where the role lands after signing in."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "app_pages"

# (file, title, icon) per role, in menu order. Emoji icons: a page's icon is also the
# browser's favicon, and Streamlit fetches a Material icon's favicon from a third-party server.
ROLE_PAGES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "patient": (
        ("patient/checkin.py", "Check-in", "📝"),
        ("patient/progress.py", "My progress", "📈"),
    ),
    "clinician": (
        ("clinician/worklist.py", "Worklist", "📋"),
        ("clinician/patient.py", "Patient", "🧑"),
    ),
    "administrator": (
        ("admin/outcomes.py", "Outcomes", "📊"),
        ("admin/users.py", "Users", "👥"),
        ("admin/audit.py", "Audit log", "🛡️"),
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
