"""Which pages each role sees (the first one is where the role lands after signing in), and
the menu on a phone: labelled "Menu", closed again once a page is chosen."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from data.notify.links import LINK_PARAMETER

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
        ("clinician/register.py", "Register a patient", ":material/person_add:"),
    ),
    "administrator": (
        ("admin/outcomes.py", "Outcomes", ":material/monitoring:"),
        ("admin/users.py", "Users", ":material/group:"),
        ("admin/audit.py", "Audit log", ":material/policy:"),
        ("admin/clinic.py", "Clinic settings", ":material/settings:"),
        ("admin/messages.py", "Messages", ":material/mail:"),
        ("admin/delivery.py", "Message delivery", ":material/outbox:"),
        ("admin/schedule.py", "Schedules", ":material/event_repeat:"),
        ("clinician/register.py", "Register a patient", ":material/person_add:"),
    ),
}


LINK_PAGE = "link.py"
"""The page of a one-tap link from a message (``/?link=...``): no sign-in, nothing else."""


def link_page() -> st.Page | None:
    """The link page while the address carries a link's token (None otherwise)."""
    if not st.query_params.get(LINK_PARAMETER):
        return None
    return st.Page(str(PAGES / LINK_PAGE), title="Your clinic", icon=":material/link:")


def page_files(role: str) -> tuple[str, ...]:
    """The page files of a role (none for an unknown role)."""
    return tuple(path for path, _, _ in ROLE_PAGES.get(role, ()))


def pages_for(role: str) -> list[st.Page]:
    """The role's pages as ``st.Page`` objects, the landing page first and default."""
    return [
        st.Page(str(PAGES / path), title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(ROLE_PAGES.get(role, ()))
    ]


NARROW_SCREEN = "(max-width: 768px)"
"""Where Streamlit's sidebar opens over the page instead of beside it (its mobile layout)."""

# Streamlit draws the closed menu as an unlabelled "»" (a screen reader reads the icon's name,
# "keyboard_double_arrow_right"), and on a phone the open sidebar stays over the page after a
# page is chosen. This script, run once per browser tab, names the button "Menu" (in words on
# screen too) and closes the sidebar after a page is chosen on a narrow screen. It holds no
# supplied text.
_PHONE_MENU = """<style>
[data-testid="stExpandSidebarButton"]::after {
  content: "Menu"; margin-left: 0.25rem; font-weight: 600; font-size: 1rem;
}
</style>
<script>
(() => {
  if (window.__outcomesPhoneMenu) return;
  window.__outcomesPhoneMenu = true;
  const label = () => {
    const button = document.querySelector('[data-testid="stExpandSidebarButton"]');
    if (button && button.getAttribute("aria-label") !== "Menu") {
      button.setAttribute("aria-label", "Menu");
      button.setAttribute("title", "Menu");
    }
  };
  new MutationObserver(label).observe(document.body, {childList: true, subtree: true});
  label();
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebarNavLink"]');
    if (!link || !window.matchMedia("NARROW").matches) return;
    window.setTimeout(() => {
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) close.click();
    }, 0);
  }, true);
})();
</script>""".replace("NARROW", NARROW_SCREEN)


def phone_menu() -> None:
    """Label the sidebar's menu button "Menu" and close the sidebar after a page is chosen on a
    narrow screen. Call once per run, inside ``st.sidebar`` (it draws nothing visible)."""
    st.html(_PHONE_MENU, unsafe_allow_javascript=True)
