"""Long tables a page at a time, the newest first (issue 13: long lists paged)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.paged import pages


def test_pages_cover_every_row_once_and_end_with_the_newest() -> None:
    assert pages(0, 25) == [(0, 0)]
    assert pages(25, 25) == [(0, 25)]
    assert pages(60, 25) == [(0, 25), (25, 50), (50, 60)]


def _table_app() -> None:
    import pandas as pd

    from dashboard.paged import show_paged_table

    rows = pd.DataFrame({"event": [f"score {n}" for n in range(1, 61)]})
    show_paged_table(rows, key="rows_page", label="rows", hide_index=True)
    short = pd.DataFrame({"event": ["one", "two"]})
    show_paged_table(short, key="short_page", label="rows", hide_index=True)
    wide = pd.DataFrame({f"day {n}": [str(n)] for n in range(1, 31)})
    show_paged_table(wide, key="wide_page", label="check-ins", axis="columns", size=12)


def test_a_long_table_opens_at_its_newest_page_and_pages_back() -> None:
    app = AppTest.from_function(_table_app).run()
    assert not app.exception, app.exception
    long, short, wide = (table.value for table in app.table)
    assert list(long["event"]) == [f"score {n}" for n in range(51, 61)]
    assert list(short["event"]) == ["one", "two"]  # short: no chooser
    assert list(wide.columns) == [f"day {n}" for n in range(25, 31)]
    chooser = app.selectbox(key="rows_page")
    assert chooser.options == ["1-25 of 60", "26-50 of 60", "51-60 of 60"]
    assert [s.key for s in app.selectbox] == ["rows_page", "wide_page"]
    chooser.set_value(0).run()
    assert list(app.table[0].value["event"]) == [f"score {n}" for n in range(1, 26)]
