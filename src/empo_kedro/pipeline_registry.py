"""Project pipelines: data_engineering -> sft -> dpo -> evaluation."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The order of the end-to-end run; pipelines not listed here are run only by name.
DEFAULT_PIPELINES = ("data_engineering", "sft", "dpo", "evaluation")


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline found under ``pipelines/``; the default runs the EmPO chain end to end."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum((pipelines[name] for name in DEFAULT_PIPELINES if name in pipelines), Pipeline([]))
    return pipelines
