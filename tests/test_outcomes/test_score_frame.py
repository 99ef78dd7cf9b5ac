"""score_frame reads every column type the same way, and says why a row is invalid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outcomes import score, score_frame
from outcomes.errors import ScoringError

ROWS = [
    {f"phq9_{i}": 2 for i in range(1, 10)},
    {**{f"phq9_{i}": 1 for i in range(1, 8)}, "phq9_9": 2},  # two missing: prorated
    {f"phq9_{i}": 3 for i in range(1, 10)} | {"phq9_4": 4},  # out of range
    {f"phq9_{i}": 0 for i in range(1, 6)} | {"phq9_9": 1},  # three missing, item 9 positive
]


def _frame(dtype: str) -> pd.DataFrame:
    keys = [f"phq9_{i}" for i in range(1, 10)]
    data = {k: [row.get(k) for row in ROWS] for k in keys}
    if dtype == "object":
        return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    if dtype == "float64":
        return pd.DataFrame({k: pd.Series(v, dtype=float) for k, v in data.items()})
    return pd.DataFrame({k: pd.array(v, dtype=dtype) for k, v in data.items()})


@pytest.mark.parametrize("dtype", ["Int64", "Int8", "Float64", "float64", "object"])
def test_every_column_type_scores_identically(dtype: str) -> None:
    result = score_frame("phq9", _frame(dtype))
    assert result["total"].dtype == "Int64"
    assert result["total"].astype(object).tolist() == [18, 10, pd.NA, pd.NA]
    assert result["valid"].tolist() == [True, True, False, False]
    assert result["prorated"].tolist() == [False, True, False, False]
    assert result["phq9_item9_positive"].tolist() == [True, True, True, True]
    assert result["severity"].astype(object).tolist()[:2] == ["moderately_severe", "moderate"]
    assert result["severity"].isna().tolist() == [False, False, True, True]


def test_plain_int64_numpy_columns_without_missing_values() -> None:
    frame = pd.DataFrame({f"phq9_{i}": np.array([0, 3, -1]) for i in range(1, 10)})
    result = score_frame("phq9", frame)
    assert result["total"].astype(object).tolist() == [0, 27, pd.NA]
    assert result["valid"].tolist() == [True, True, False]


def test_result_keeps_the_input_index_and_ignores_other_columns() -> None:
    frame = _frame("Int64")
    frame.index = pd.Index([10, 20, 30, 40], name="assessment_id")
    frame["clinic_note"] = "x"
    result = score_frame("phq9", frame)
    assert result.index.equals(frame.index)
    assert list(result.columns) == ["total", "severity", "valid", "prorated", "phq9_item9_positive"]


def test_errors_column_explains_each_invalid_row_and_matches_score() -> None:
    result = score_frame("phq9", _frame("Int64"), errors=True)
    assert result.loc[0, "errors"] == ()
    assert result.loc[2, "errors"] == ("phq9_4: 4 is outside the range 0 to 3",)
    assert "3 of 9 items unanswered" in result.loc[3, "errors"][0]
    assert "at most 2 may be missing" in result.loc[3, "errors"][0]
    for position, row in enumerate(ROWS):
        assert score("phq9", row).errors == result.loc[position, "errors"]


def test_booleans_and_strings_are_not_answers() -> None:
    frame = pd.DataFrame({"gad7_1": pd.array([True, None], dtype="boolean")})
    frame = frame.assign(**{f"gad7_{i}": 1 for i in range(2, 8)})
    result = score_frame("gad7", frame, errors=True)
    assert result["valid"].tolist() == [False, True]  # NA in a boolean column is just missing
    assert "yes/no value" in result.loc[0, "errors"][0] or "True" in result.loc[0, "errors"][0]
    strings = pd.DataFrame({f"gad7_{i}": pd.array(["1"], dtype="string") for i in range(1, 8)})
    assert not score_frame("gad7", strings)["valid"].item()


def test_empty_frame_and_absent_columns() -> None:
    empty = score_frame("madrs", pd.DataFrame())
    assert len(empty) == 0
    assert "madrs_item10_positive" in empty.columns
    no_items = score_frame("madrs", pd.DataFrame(index=range(2)))
    assert no_items["valid"].tolist() == [False, False]


def test_score_frame_needs_a_dataframe() -> None:
    with pytest.raises(ScoringError, match="DataFrame"):
        score_frame("phq9", [{"phq9_1": 1}])  # type: ignore[arg-type]
    with pytest.raises(ScoringError, match="mapping"):
        score("phq9", [1, 2, 3])  # type: ignore[arg-type]


def test_cssrs_frame_has_no_total_and_a_risk_level() -> None:
    frame = pd.DataFrame(
        {"cssrs_1": [1, 0], "cssrs_2": [0, 0], "cssrs_6": [1, 0], "cssrs_6_recent": [0, None]}
    )
    result = score_frame("cssrs_screen", frame)
    assert result["total"].isna().all()
    assert result["severity"].astype(object).tolist() == ["moderate", "none"]
    assert result["cssrs_moderate_risk"].tolist() == [True, False]
    assert list(result["severity"].cat.categories) == ["none", "low", "moderate", "high"]


def test_values_hidden_under_a_mask_are_missing_whatever_they_hold() -> None:
    """A nullable column may keep any number in a masked (NA) slot; it is not an answer."""
    hidden = pd.arrays.IntegerArray(np.array([9, -5, 2]), np.array([True, True, False]))
    frame = pd.DataFrame({f"gad7_{i}": pd.array([1, 1, 1], dtype="Int64") for i in range(2, 8)})
    frame["gad7_1"] = hidden
    result = score_frame("gad7", frame, errors=True)
    assert result["valid"].tolist() == [True, True, True]  # one missing item: prorated
    assert result["prorated"].tolist() == [True, True, False]
    assert result["total"].tolist() == [7, 7, 8]
