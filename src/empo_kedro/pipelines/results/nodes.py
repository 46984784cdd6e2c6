"""Nodes of the results pipeline."""

from __future__ import annotations

from empo_kedro.params import ResultsParams
from empo_kedro.reporting.results import build_results


def write_results(params: ResultsParams):
    """docs/results.md and its sweep plot, from the MLflow runs of the newest (or the named) finished sweep."""
    return build_results(params)
