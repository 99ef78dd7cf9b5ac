"""Parts of a page that rerun on their own (``st.fragment``), and how they rerun.

Streamlit reruns a page's whole script on every click and key press that changes a widget.
A form drawn in a fragment reruns only itself: a press of its button that stores nothing
(answers missing) redraws the form and its marks without reading the patient's records
again or redrawing their charts. What is stored reruns the whole page
(``st.rerun(scope="app")``), so every part that shows the new record shows it.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException


def rerun_fragment() -> None:
    """Rerun the fragment this is called from, or the whole page when it runs as part of one.

    A fragment-scoped rerun is allowed only in a run of the fragment alone (a click in it);
    in a run of the whole page (the first draw, or Streamlit's AppTest, which runs the whole
    script for every interaction) Streamlit refuses it, and the page reruns instead, which
    draws the same thing.
    """
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun(scope="app")
