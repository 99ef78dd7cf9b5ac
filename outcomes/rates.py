"""A proportion with its Wilson score interval (course-and-reporting §5 and §8).

A clinic's rates come from tens of patients, not thousands: the interval says how far the
true rate may lie from the one observed. The Wilson score interval keeps close to its stated
coverage for small samples and for rates near 0% or 100%, where the textbook
``p ± z·sqrt(p(1-p)/n)`` (Wald) interval is too narrow or leaves [0, 1] [2]_.

References
----------
.. [1] Wilson EB. Probable inference, the law of succession, and statistical inference.
   J Am Stat Assoc. 1927;22(158):209-212. doi:10.1080/01621459.1927.10502953
.. [2] Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion.
   Stat Sci. 2001;16(2):101-133. doi:10.1214/ss/1009213286
.. [3] Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of
   seven methods. Stat Med. 1998;17(8):857-872 (Table II: the worked examples the tests use).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from outcomes.errors import OutcomesError


@dataclass(frozen=True)
class Rate:
    """A proportion with the numbers behind it and its confidence interval.

    Attributes
    ----------
    successes : int
        The numerator (e.g. responders).
    total : int
        The denominator (e.g. patients assessed).
    proportion : float or None
        ``successes / total``; None when ``total`` is 0 (no rate, not 0%).
    low, high : float or None
        The Wilson score interval, within [0, 1]; None when ``total`` is 0.
    """

    successes: int
    total: int
    proportion: float | None
    low: float | None
    high: float | None


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise OutcomesError(f"confidence must be between 0 and 1 (e.g. 0.95), not {confidence!r}")
    # The standard library's normal quantile: importing scipy.stats for one number cost every
    # ``import outcomes`` (and so ``outcomes --help``) 0.7 s.
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(
    successes: npt.ArrayLike, totals: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Wilson score interval of many proportions at once (vectorised).

    Parameters
    ----------
    successes, totals : array-like of int
        Numerators and denominators, element by element.
    confidence : float, default 0.95
        Two-sided coverage.

    Returns
    -------
    (low, high) : arrays of float
        NaN where the total is 0.

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z` the normal quantile,

    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    (Wilson 1927; Brown, Cai & DasGupta 2001, eq. 4).
    """
    z = _z(confidence)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(totals, dtype=float)
    if np.any(n < 0) or np.any(x < 0) or np.any(x > n):
        raise OutcomesError(
            "successes must be between 0 and the total, and totals at least 0: check that "
            "the numerator counts patients of the denominator only"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # At 0/n and n/n the bound on that side is exactly 0 or 1; rounding must not move it.
    low = np.where((n > 0) & (x == 0), 0.0, low)
    high = np.where((n > 0) & (x == n), 1.0, high)
    return low.astype(np.float64), high.astype(np.float64)


def rate_with_interval(successes: int, total: int, *, confidence: float = 0.95) -> Rate:
    """A proportion with its Wilson score confidence interval.

    Parameters
    ----------
    successes : int
        Patients who met the criterion (e.g. responders), at most ``total``.
    total : int
        Patients in the denominator (e.g. assessed, or everyone who started).
    confidence : float, default 0.95
        Two-sided coverage of the interval.

    Returns
    -------
    Rate
        ``Rate(successes, total, proportion, low, high)``; ``proportion``, ``low`` and
        ``high`` are None when ``total`` is 0 (there is no rate to show).

    Raises
    ------
    OutcomesError
        When a count is negative or not whole, or ``successes > total``, or ``confidence``
        is not strictly between 0 and 1.

    Notes
    -----
    The Wilson score interval [1]_ is recommended over the Wald interval for small ``n``
    and for proportions near 0 or 1 [2]_.

    References
    ----------
    .. [1] Wilson EB. Probable inference, the law of succession, and statistical inference.
       J Am Stat Assoc. 1927;22(158):209-212. doi:10.1080/01621459.1927.10502953
    .. [2] Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion.
       Stat Sci. 2001;16(2):101-133. doi:10.1214/ss/1009213286

    Examples
    --------
    >>> rate = rate_with_interval(81, 263)
    >>> round(rate.proportion, 4), round(rate.low, 4), round(rate.high, 4)
    (0.308, 0.2553, 0.3662)
    """
    for name, value in (("successes", successes), ("total", total)):
        if isinstance(value, bool) or not float(value).is_integer():
            raise OutcomesError(f"{name} must be a whole number of patients, not {value!r}")
    successes, total = int(successes), int(total)
    low, high = wilson_interval([successes], [total], confidence=confidence)
    if total == 0:
        return Rate(successes, total, None, None, None)
    return Rate(successes, total, successes / total, float(low[0]), float(high[0]))
