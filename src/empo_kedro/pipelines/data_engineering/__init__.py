"""ED release -> dialogues -> SFT conversations and emotion-grounded preference pairs."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
