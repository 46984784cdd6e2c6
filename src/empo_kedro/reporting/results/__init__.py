"""docs/results.md from a finished sweep, so every number in it is the one MLflow holds.

The record is read from MLflow by :mod:`empo_kedro.tracking.sweep_results`; everything here renders that plain
:class:`~empo_kedro.tracking.sweep_results.SweepRecord` (no MLflow access). The sentences about differences are
computed from the CIs: a CI that contains 0 is reported as "no detectable difference".

Modules: ``wording`` (numbers, tables, sentences from CIs), ``lookup`` (one CI / check of the record),
``answer`` (the targets and checks in the answer), ``sweep_sections`` (set-up, trials, final comparison, samples),
``checks_sections`` (seeds, length control, emotion fit, scorer), ``document`` (assembly, plot, pipeline entry).
"""

from empo_kedro.reporting.results.document import build_results, render_markdown, trials_plot
from empo_kedro.reporting.results.lookup import ADJUSTED, DPO_VARIANT, LC_WIN_RATE, SEEDS
from empo_kedro.reporting.results.sweep_sections import SFT_COLUMNS, TRIAL_COLUMNS
from empo_kedro.reporting.results.wording import DIRECTION, LABELS, describe_difference, describe_win_rate, num

__all__ = [
    "ADJUSTED",
    "DIRECTION",
    "DPO_VARIANT",
    "LABELS",
    "LC_WIN_RATE",
    "SEEDS",
    "SFT_COLUMNS",
    "TRIAL_COLUMNS",
    "build_results",
    "describe_difference",
    "describe_win_rate",
    "num",
    "render_markdown",
    "trials_plot",
]
