"""Chart builders: plain functions that take data and return a Plotly figure.

One module per family of figure (``style`` holds what they share). No Streamlit and no
database here, so every figure is tested on its traces, shapes and annotations without a
browser (``tests/test_dashboard/``). Pages call ``charts.<builder>`` from this package.
"""

from __future__ import annotations

from dashboard.charts.cohort import (
    funnel_figure,
    mean_trajectory_figure,
    rates_figure,
    survival_figure,
)
from dashboard.charts.items import item_heatmap, item_table
from dashboard.charts.progress import progress_figure
from dashboard.charts.reminders import reminder_completeness_figure
from dashboard.charts.style import PLOTLY_CONFIG
from dashboard.charts.trajectory import trajectory_figure
from dashboard.charts.trajectory_table import trajectory_lines, trajectory_table

__all__ = [
    "PLOTLY_CONFIG",
    "funnel_figure",
    "item_heatmap",
    "item_table",
    "mean_trajectory_figure",
    "progress_figure",
    "rates_figure",
    "reminder_completeness_figure",
    "survival_figure",
    "trajectory_figure",
    "trajectory_lines",
    "trajectory_table",
]
