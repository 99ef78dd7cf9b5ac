"""Where the page is scrolled: a view that replaces a long form opens at its top, and what a
person must see now (crisis help, an unanswered question) is brought into view.

Streamlit keeps the main area's scroll position from one run of a page to the next: after
"Submit" at the bottom of a long form on a phone, the next view of the same page opens
scrolled as far down as its content allows. Streamlit has no call for scrolling, so a small
script does it (``st.html`` with ``unsafe_allow_javascript``), written by the app alone, never
with supplied text in it.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import streamlit as st

_NONCE = "_scroll_nonce"
# Streamlit's header is fixed over the page's top (3.75rem): what is scrolled to stays below it.
_MARGIN = "<style>{selector} {{ scroll-margin-top: 4.5rem; }}</style>"
_INTO_VIEW = """<script>
(() => {{ /* {nonce} */
  const target = document.querySelector({selector});
  if (target) target.scrollIntoView({{block: {block}}});
}})();
</script>"""
_TO_TOP = """<script>
(() => {{ /* {nonce} */
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollTop = 0;
  window.scrollTo(0, 0);
}})();
</script>"""


def _nonce() -> int:
    # A new number each time, so that Streamlit sees a new element and runs its script again
    # (an element identical to the last run's is kept, and its script not re-run).
    nonce = int(st.session_state.get(_NONCE, 0)) + 1
    st.session_state[_NONCE] = nonce
    return nonce


def bring_into_view(selector: str, *, block: Literal["start", "nearest"] = "start") -> None:
    """Scroll so that the element ``selector`` names is in view, below the header.

    Parameters
    ----------
    selector
        One class of the app's own, e.g. a container's ``.st-key-first_unanswered``.
    block
        ``"start"``: to the top of the screen; ``"nearest"``: only as far as needed.
    """
    if not re.fullmatch(r"\.[A-Za-z0-9_-]+", selector):
        raise ValueError("bring_into_view takes one class selector of letters, digits, _ and -")
    st.html(_MARGIN.format(selector=selector))
    st.html(
        _INTO_VIEW.format(nonce=_nonce(), selector=json.dumps(selector), block=json.dumps(block)),
        unsafe_allow_javascript=True,
    )


def open_at_top() -> None:
    """Scroll the page to its top: for a view that replaces a long form (a check-in's result)."""
    st.html(_TO_TOP.format(nonce=_nonce()), unsafe_allow_javascript=True)
