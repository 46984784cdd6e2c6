"""Typed parameter blocks, one per pipeline's block of ``conf/base/parameters*.yml``, built once by the pre-run check.

The way TRL and the alignment handbook read ``DPOConfig`` / ``ModelConfig``: each block is a frozen dataclass whose
fields name every key of its YAML block. Fields have no defaults, the YAML (``conf/base`` plus the environment and
``--params``) stays the only place a default lives; an unknown or missing key stops the run with its dotted path.

Free-form blocks handed to a library as they are (``sft.training`` / ``dpo.training`` to TRL's configs, checked by
``make_trainer_config``; ``evaluation.generation`` to ``model.generate``; ``evaluation.epitome.scorer``, checked by
:class:`~empo_kedro.evaluation.epitome.params.EpitomeScorerParams`; the sweep's ``space`` and ``fixed``, checked by
:mod:`empo_kedro.sweep.space`) stay plain dicts.

Each block is also a read-only ``dict`` of its fields (in the YAML's key order), so code that still indexes it as a
mapping, JSON fingerprints of it, and kedro-mlflow (which flattens only ``dict`` parameters into ``dpo.lora.r``-style
MLflow params) see exactly what they saw before.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from empo_kedro.errors import UserFacingError


class ParameterError(UserFacingError, ValueError):
    """A parameter block has an unknown or a missing key."""


def _frozen(self, *args, **kwargs):
    raise dataclasses.FrozenInstanceError(f"{type(self).__name__} is read-only (a typed parameter block)")


class ParamsBlock(dict):
    """Base of the typed blocks: a frozen dataclass that is also a read-only dict of its fields.

    ``Block(**values)`` (what Kedro 1.7 calls for a node argument type-hinted with a dataclass) and
    ``Block.from_mapping(values, "dotted.path")`` (the pre-run check) build the same object, nested blocks typed;
    an unknown or missing key is named with its path (relative to the block for the former).
    """

    def __init__(self, **values: Any) -> None:
        self._fill(values, "")

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> ParamsBlock:
        """The block from a parameters mapping; ``where`` is its dotted path (``dpo.lora``), used in errors."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"Parameter '{where}' must be a mapping of {cls.__name__} keys, got {data!r}")
        built = cls.__new__(cls)
        built._fill(data, where)
        return built

    def _fill(self, data: Mapping[str, Any], where: str) -> None:
        names = [field.name for field in dataclasses.fields(self)]
        prefix = f"{where}." if where else ""
        unknown = [key for key in data if key not in names]
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(prefix + str(key) for key in unknown)}; "
                f"known keys of '{where or type(self).__name__}': {names}"
            )
        missing = [name for name in names if name not in data]
        if missing:
            raise ParameterError(
                f"Missing parameter(s) {', '.join(prefix + name for name in missing)} "
                "(conf/base/parameters*.yml lists every key)"
            )
        hints = _field_types(type(self))
        for key in data:  # the YAML's order, so the block iterates as the dict did
            value, hint = data[key], hints[key]
            if isinstance(hint, type) and issubclass(hint, ParamsBlock) and not isinstance(value, hint):
                value = hint.from_mapping(value, prefix + key)
            object.__setattr__(self, key, value)
            dict.__setitem__(self, key, value)

    def __setitem__(self, key: str, value: Any) -> None:
        # Kedro's parameter validation writes a typed sub-block back into its typed parent (same value): a no-op.
        if key in self and dict.__getitem__(self, key) == value:
            return
        _frozen(self)

    def __reduce__(self):  # deepcopy (Kedro's MemoryDataset) and pickle rebuild it, in the same key order
        return _rebuild, (type(self), list(dict.items(self)))

    __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _frozen


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _rebuild(cls: type[ParamsBlock], items: list[tuple[str, Any]]) -> ParamsBlock:
    built = cls.__new__(cls)
    built._fill(dict(items), "")
    return built


def as_plain(value: Any) -> Any:
    """A deep copy with every mapping (typed blocks included) as a plain, mutable dict."""
    if isinstance(value, Mapping):
        return {key: as_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_plain(item) for item in value]
    return value


block = dataclass(frozen=True, eq=False, init=False)


# ---- parameters.yml ----
@block
class BaseModelParams(ParamsBlock):
    """``base_model``: which LLM, where from, and how it is loaded."""

    display_name: str
    source: str
    pypi_package: str | None
    gguf_file: str | None
    name_or_path: str | None
    revision: str | None
    trust_remote_code: bool
    dtype: str
    eval_autocast: str | None
    device: str
    quantization: str | None


# ---- parameters_data_engineering.yml ----
@block
class PreferencesParams(ParamsBlock):
    """``data_engineering.preferences``: how rejected turns are drawn."""

    strategy: str
    prompt_turns: str
    n_epochs: int


@block
class DataEngineeringParams(ParamsBlock):
    """``data_engineering``."""

    min_turns: int
    preferences: PreferencesParams


# ---- parameters_sft.yml / parameters_dpo.yml ----
@block
class LoraParams(ParamsBlock):
    """``<sft|dpo>.lora``."""

    r: int
    alpha: float
    dropout: float
    target_modules: Any


@block
class SftSpeedParams(ParamsBlock):
    """``sft.speed``."""

    frozen_weights_dtype: str | None
    labelled_positions_only: bool


@block
class DpoSpeedParams(ParamsBlock):
    """``dpo.speed``."""

    frozen_weights_dtype: str | None
    labelled_positions_only: bool
    prompt_sharing: bool | str
    length_bucket_window_batches: int | None
    torch_compile: bool


@block
class SampleRepliesParams(ParamsBlock):
    """``dpo.sample_replies``: greedy replies logged as an MLflow table at each evaluation; ``generation`` goes to
    ``model.generate`` as is."""

    n_prompts: int
    generation: dict


@block
class SftParams(ParamsBlock):
    """``sft``; ``training`` goes to TRL's SFTConfig as is."""

    train_split: str
    eval_split: str
    max_train_conversations: int | None
    max_eval_conversations: int | None
    output_dir: str
    lora: LoraParams
    speed: SftSpeedParams
    training: dict


@block
class ReferenceCacheParams(ParamsBlock):
    """``dpo.reference_cache``: reference log-probs stored on disk, keyed by the reference model."""

    enabled: bool
    folder: str


@block
class DpoParams(ParamsBlock):
    """``dpo``; ``training`` goes to TRL's DPOConfig as is."""

    train_split: str
    eval_split: str
    epochs: int
    max_train_prompts: int | None
    max_eval_pairs: int | None
    output_dir: str
    sample_replies: SampleRepliesParams
    lora: LoraParams
    reference_cache: ReferenceCacheParams
    speed: DpoSpeedParams
    training: dict


# ---- parameters_evaluation.yml ----
@block
class BootstrapParams(ParamsBlock):
    """``evaluation.bootstrap``."""

    n_resamples: int
    confidence: float


@block
class BertScoreParams(ParamsBlock):
    """``evaluation.bertscore``."""

    encoder: str | None
    num_layers: int
    batch_size: int


@block
class EpitomeParams(ParamsBlock):
    """``evaluation.epitome``; ``scorer`` is checked by ``EpitomeScorerParams.from_mapping``."""

    encoder: str | None
    val_fraction: float
    test_fraction: float
    group_column: str
    batch_size: int
    heldout_interval: dict
    scorer: dict


@block
class MmluParams(ParamsBlock):
    """``evaluation.retention.mmlu``."""

    tasks: Any
    num_fewshot: int
    batch_size: int
    limit: int | None
    offline_fallback: dict | None


@block
class KlParams(ParamsBlock):
    """``evaluation.retention.kl``."""

    n_texts: int
    batch_size: int
    max_length: int


@block
class RetentionParams(ParamsBlock):
    """``evaluation.retention``."""

    mmlu: MmluParams
    kl: KlParams


@block
class VllmParams(ParamsBlock):
    """``evaluation.vllm`` (only with ``generation.backend: vllm``); ``engine`` goes to ``vllm.LLM`` as is."""

    adapters: str
    max_lora_rank: int
    scratch_dir: str
    engine: dict


@block
class LengthMatchedParams(ParamsBlock):
    """``evaluation.length_matched``: the ``sft_len`` control variant."""

    enabled: bool


@block
class RobustnessParams(ParamsBlock):
    """``evaluation.robustness``: length-adjusted contrasts, seed-pooled CIs, the length-controlled win rate."""

    n_resamples: int
    lc_n_resamples: int
    lc_metric: str
    metrics: list


@block
class EmotionParams(ParamsBlock):
    """``evaluation.emotion``; ``classifier`` is checked by the emotion classifier's own parameters."""

    encoder: str | None
    train_split: str
    heldout_split: str
    fallback_map: str
    classifier: dict


@block
class EvaluationParams(ParamsBlock):
    """``evaluation``; ``generation`` goes to ``model.generate`` as is (less ``backend``, checked by
    :func:`empo_kedro.evaluation.vllm_generation.check_generation_backend`)."""

    split: str
    n_prompts: int | None
    batch_size: int
    generation: dict
    vllm: VllmParams
    distinct_orders: list
    bootstrap: BootstrapParams
    bertscore: BertScoreParams
    epitome: EpitomeParams
    length_matched: LengthMatchedParams
    robustness: RobustnessParams
    emotion: EmotionParams
    retention: RetentionParams


# ---- parameters_score_predictions.yml ----
@block
class ScorePredictionsParams(ParamsBlock):
    """``score_predictions``."""

    variant: str | None
    empty_responses: str
    max_skipped_fraction: float


# ---- parameters_sweep.yml ----
@block
class GuardsParams(ParamsBlock):
    """``sweep.selection.guards``."""

    bertscore_f1_max_drop: float | None
    kl_to_base_max_increase: float | None


@block
class SelectionParams(ParamsBlock):
    """``sweep.selection``."""

    split: str
    n_prompts: int | None
    kl_n_texts: int | None
    metric: str
    goal: str
    guards: GuardsParams


@block
class FinalParams(ParamsBlock):
    """``sweep.final``."""

    split: str
    n_prompts: int | None
    mmlu: bool
    kl_n_texts: int | None
    n_samples: int
    ablation_strategy: str
    ablation_counterpart: str
    n_seeds: int
    train_prompts: int | str | None
    epochs: int | None
    length_matched: bool


@block
class PlotParams(ParamsBlock):
    """``sweep.plot``."""

    x: list


@block
class SweepParams(ParamsBlock):
    """``sweep``; ``space`` and ``fixed`` (nested like the ``dpo`` block, null removes a key) are checked by
    :func:`empo_kedro.sweep.space.plan_trials`."""

    method: str
    n_trials: int | None
    seed: int | None
    space: dict
    fixed: dict
    selection: SelectionParams
    final: FinalParams
    plot: PlotParams


@block
class ResultsParams(ParamsBlock):
    """``results``."""

    sweep_run_id: str | None
    sweep_data_root: str
    plot_file: str
    n_samples: int
    key_metrics: list
    ci_metrics: list
    adjusted_metrics: list
    emotion_metrics: list


# The typed top-level blocks; other top-level parameters (seed, system_prompt, emotion_maps, paths) reach the nodes
# as the YAML has them.
BLOCKS: dict[str, type[ParamsBlock]] = {
    "base_model": BaseModelParams,
    "data_engineering": DataEngineeringParams,
    "sft": SftParams,
    "dpo": DpoParams,
    "evaluation": EvaluationParams,
    "score_predictions": ScorePredictionsParams,
    "sweep": SweepParams,
    "results": ResultsParams,
}


def build_blocks(params: Mapping[str, Any], names: set[str]) -> dict[str, ParamsBlock]:
    """The typed blocks among the top-level ``names`` (those a pipeline reads), each checked for unknown and
    missing keys."""
    built = {}
    for name in sorted(names & set(BLOCKS)):
        if name not in params:
            raise ParameterError(f"Missing parameter block '{name}' (conf/base/parameters*.yml)")
        built[name] = BLOCKS[name].from_mapping(params[name], name)
    return built


def typed_input(blocks: Mapping[str, ParamsBlock], dotted: str) -> Any:
    """The typed value of a ``params:<dotted>`` input (``data_engineering.preferences`` is a PreferencesParams)."""
    top, *rest = dotted.split(".")
    value: Any = blocks[top]
    for part in rest:
        value = value[part]
    return value
