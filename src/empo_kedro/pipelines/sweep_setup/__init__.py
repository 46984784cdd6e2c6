"""sweep_setup: what the sweep needs and nothing more (dialogues, the SFT adapter, the EPITOME scorer)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
