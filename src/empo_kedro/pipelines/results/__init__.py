"""The results pipeline: docs/results.md from a finished sweep's MLflow runs."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
