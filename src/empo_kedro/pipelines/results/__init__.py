"""The results pipeline: results.md (docs/ for the shared env) from a finished sweep's MLflow runs."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
