"""Long tables shown a page at a time: a patient's years of scores are not all sent at once.

A table of every score, infusion and alert of a long course (a hundred and fifty rows and
more) was sent and laid out whole on every run of the patient's page, inside an expander few
open. :func:`show_paged_table` shows the latest page and a chooser of the others; choosing
reruns only the table (a fragment), with the frame it was given.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

ROWS_PER_PAGE = 25


def pages(count: int, size: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` of each page of ``count`` items, ``size`` at most each; the last
    page holds the newest items (the tables here run oldest first)."""
    if count <= 0:
        return [(0, 0)]
    return [(start, min(start + size, count)) for start in range(0, count, size)]


@st.fragment
def show_paged_table(
    frame: pd.DataFrame,
    *,
    key: str,
    label: str,
    axis: Literal["rows", "columns"] = "rows",
    size: int = ROWS_PER_PAGE,
    hide_index: bool = False,
) -> None:
    """``frame`` as a table, ``size`` rows (or columns) at a time, the newest shown first.

    Parameters
    ----------
    key : str
        The page chooser's widget key (one per table on a page).
    label : str
        What the rows or columns are, for the chooser: "rows", "check-ins".
    axis : {"rows", "columns"}
        Page by rows (oldest first, one per event) or by columns (one per administration).
    """
    count = len(frame) if axis == "rows" else len(frame.columns)
    spans = pages(count, size)
    if len(spans) > 1:
        chosen = st.selectbox(
            f"Showing {label}",
            list(range(len(spans))),
            index=len(spans) - 1,
            format_func=lambda i: f"{spans[i][0] + 1}-{spans[i][1]} of {count}",
            key=key,
        )
        start, stop = spans[chosen if chosen is not None else -1]
        frame = frame.iloc[start:stop] if axis == "rows" else frame.iloc[:, start:stop]
    st.table(frame, hide_index=hide_index)
