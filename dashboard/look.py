"""What every page shares in how it looks to a keyboard: focus that shows, and no Tab stop on
anything hidden.

The theme (``.streamlit/config.toml`` ``[theme]``) sets the colours, and with them the
contrast of text (WCAG 2.1 1.4.3). Two things a theme cannot set are done here, by a few
global CSS rules that the entry file adds once per run (:func:`apply_look`):

* **Focus that shows** (WCAG 2.1 2.4.7, and 1.4.11's 3:1 for what a person must see): a
  focused answer option was shown only by a pale tint behind it (1.17:1 against the page),
  and buttons by a half-transparent ring (2.5:1). Every focused control now gets a solid
  outline in the theme's primary colour, 8.7:1 against white.
* **No Tab stop on anything hidden** (WCAG 2.1 2.4.3): on a phone the closed sidebar is moved
  off screen but stays in the page, so Tab went through its four links and buttons, unseen,
  before reaching the first question. Hidden with ``visibility: hidden``, its controls leave
  the tab order (and the screen reader's view) until the menu opens it.
"""

from __future__ import annotations

import streamlit as st

# The theme's primaryColor (.streamlit/config.toml): 8.7:1 against the white page and 8.2:1
# against the sidebar's grey (#f8f8f7), where 3:1 is enough for a focus indicator.
FOCUS_COLOUR = "#1f4e79"

CSS = f"""
/* Keyboard focus: a solid outline, never only a tint. React Aria marks a focused option,
   checkbox or tab of Streamlit's widgets with data-focus-visible; native controls match
   :focus-visible (a keyboard's focus, not a mouse click's). */
[data-focus-visible="true"],
a:focus-visible,
button:focus-visible,
summary:focus-visible,
[role="tab"]:focus-visible {{
    outline: 3px solid {FOCUS_COLOUR} !important;
    outline-offset: 2px !important;
}}
/* The closed sidebar is off screen: out of the tab order too, until it opens. */
[data-testid="stSidebar"][data-collapsed="true"] {{
    visibility: hidden;
}}
"""


def apply_look() -> None:
    """Add the rules above to the page (style only: Streamlit puts it where it takes no room)."""
    st.html(f"<style>{CSS}</style>")
