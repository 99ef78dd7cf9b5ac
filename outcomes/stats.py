"""Small statistics shared by cohort summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_interval(
    n: pd.Series, mean: pd.Series, sum_of_squares: pd.Series, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Standard deviation and t-interval of a mean from its moments (n, mean, sum of x**2).

    This lets a database aggregate with plain SQL sums, and the statistics stay here.
    NaN where n < 2.
    """
    n_float = n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (sum_of_squares.astype(float) - n_float * mean.astype(float) ** 2) / (
            n_float - 1
        )
        sd = pd.Series(np.sqrt(variance.clip(lower=0)), index=n.index)
        quantile = pd.Series(stats.t.ppf(0.5 + confidence / 2, n_float - 1), index=n.index)
        half: pd.Series = quantile * sd / np.sqrt(n_float)
    sd = sd.where(n >= 2)
    half = half.where(n >= 2)
    return pd.DataFrame({"sd": sd, "ci_lower": mean - half, "ci_upper": mean + half})
