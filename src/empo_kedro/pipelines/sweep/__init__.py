"""The sweep pipeline: a grid or random search over DPO settings, selection on validation, the final comparison."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
