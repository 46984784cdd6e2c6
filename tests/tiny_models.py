"""Tiny, fully offline stand-ins for the project's base LLM (SmolLM2-135M-Instruct).

Why: tests must not download anything and must run in seconds on a shared
2-core CPU, yet they need a *real* ``transformers`` causal LM + fast tokenizer
pair that behaves like the production one (Llama architecture, ChatML special
tokens, SmolLM2's chat template, save/load via ``from_pretrained``).

Everything here is deterministic for a given ``seed``:

* :func:`make_tiny_tokenizer` trains a byte-level BPE (so *any* unicode text is
  encodable, no ``<unk>``) on a handful of built-in sentences.
* :func:`make_tiny_causal_lm` builds a randomly initialised 2-layer
  ``LlamaForCausalLM`` sized to that tokenizer and saves model + tokenizer into
  one directory, loadable with ``AutoModelForCausalLM`` / ``AutoTokenizer``
  (and therefore by lm-eval's ``HFLM``, PEFT, TRL, ...).
* :func:`load_tiny` loads both back.

Usage in a test module::

    from tests.tiny_models import make_tiny_causal_lm, load_tiny

    @pytest.fixture(scope="module")
    def tiny_dir(tmp_path_factory):
        return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny"))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

#: SmolLM2-135M-Instruct's chat template, the same string the project uses for the real model.
from empo_kedro.training.base_model.chat_template import SMOLLM2_CHAT_TEMPLATE  # noqa: E402

UNK_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|pad|>"
#: Special tokens in id order (ids 0..3). SmolLM2 has ids 0..2 identical; the
#: dedicated pad token is an addition so padding bugs cannot hide behind EOS.
SPECIAL_TOKENS: tuple[str, ...] = (UNK_TOKEN, BOS_TOKEN, EOS_TOKEN, PAD_TOKEN)

#: Default training corpus: a few empathetic-dialogue-like and quiz-like lines.
DEFAULT_CORPUS: tuple[str, ...] = (
    "I am so sorry to hear that you lost your job, that must be really hard.",
    "That sounds wonderful! I am happy for you and your family.",
    "I feel anxious about my exam tomorrow and I cannot sleep.",
    "It is completely normal to feel nervous before a big day.",
    "My dog passed away last week and the house feels empty.",
    "Question: What is the capital of France?\nA. Paris\nB. Rome\nC. Madrid\nD. Berlin\nAnswer: A",
    "The following are multiple choice questions (with answers) about biology.",
    "user assistant system You are a helpful AI assistant.",
)


def make_tiny_tokenizer(
    save_dir: str | Path | None = None,
    corpus: Sequence[str] = DEFAULT_CORPUS,
    vocab_size: int = 384,
    pad_token: str = PAD_TOKEN,
    padding_side: str = "right",
    model_max_length: int = 2048,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer with ChatML specials, offline.

    Why byte-level: every input (MMLU maths, emojis, ...) stays encodable, as
    with the real GPT2-style SmolLM2 tokenizer. ``vocab_size`` must exceed the
    256-byte alphabet + specials; merges beyond what the corpus supports are
    simply not created (the final size can be smaller).

    Args:
        save_dir: if given, ``save_pretrained`` the tokenizer there.
        corpus: sentences to learn merges from.
        vocab_size: upper bound on vocabulary size.
        pad_token: one of :data:`SPECIAL_TOKENS` (use ``EOS_TOKEN`` to mimic
            SmolLM2 exactly, which pads with ``<|im_end|>``).
        padding_side: "right" or "left".
        model_max_length: advertised maximum sequence length.
    """
    if pad_token not in SPECIAL_TOKENS:
        raise ValueError(f"pad_token must be one of {SPECIAL_TOKENS}, got {pad_token!r}")
    backend = Tokenizer(models.BPE(unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(corpus), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        pad_token=pad_token,
        padding_side=padding_side,
        model_max_length=model_max_length,
    )
    tokenizer.chat_template = SMOLLM2_CHAT_TEMPLATE
    if save_dir is not None:
        tokenizer.save_pretrained(str(save_dir))
    return tokenizer


def make_tiny_causal_lm(
    tmp_path: str | Path,
    name: str = "tiny-llama",
    seed: int = 0,
    hidden_size: int = 32,
    intermediate_size: int = 64,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    max_position_embeddings: int = 2048,
    tokenizer: PreTrainedTokenizerBase | None = None,
    tie_word_embeddings: bool = True,
) -> Path:
    """Build a random tiny ``LlamaForCausalLM`` + tokenizer and save them.

    Returns the directory ``tmp_path / name`` holding ``config.json``,
    ``model.safetensors`` (float32), ``generation_config.json`` and the
    tokenizer files, i.e. the same layout as the real local base model dir.
    Weights are tied by default (as in SmolLM2) and seeded, so two calls with the
    same ``seed`` give identical weights. Tied random weights mostly repeat the
    last input token (a newline after the generation prompt: an empty reply);
    ``tie_word_embeddings=False`` gives a random output layer, hence non-empty
    replies where a test needs text.
    """
    model_dir = Path(tmp_path) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    tok = tokenizer if tokenizer is not None else make_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tie_word_embeddings,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    return model_dir


def load_tiny(
    model_dir: str | Path, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a model dir written by :func:`make_tiny_causal_lm` (eval mode)."""
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return model, tokenizer


def make_tiny_adapter_stack(root: Path, seed: int = 1, dpo_lora: dict | None = None) -> dict[str, Path]:
    """A tiny base, an SFT adapter on it and a DPO adapter on the SFT-merged weights, saved as the project saves them.

    Why: evaluation, serving and vLLM tests all need base / SFT / DPO folders with the project's adapter metadata.
    ``dpo_lora`` holds the DPO adapter's LoraConfig arguments (default r=8, alpha=4, all linear layers).
    """
    from peft import LoraConfig, get_peft_model

    from empo_kedro.io.model_datasets import AdapterDataset, TrainedAdapter
    from empo_kedro.training.modeling import load_adapted_model, load_causal_lm, load_tokenizer

    model_params = {"dtype": "float32", "device": "cpu"}
    base = make_tiny_causal_lm(root)
    tokenizer = load_tokenizer(base)
    torch.manual_seed(seed)
    sft = get_peft_model(
        load_causal_lm(base, model_params),
        LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False),
    )
    AdapterDataset(str(root / "sft")).save(TrainedAdapter(sft, tokenizer, {"merged_parents": []}))
    merged = load_adapted_model(base, model_params, merged_parents=[root / "sft"])
    dpo_config = {"r": 8, "lora_alpha": 4, "target_modules": "all-linear", **(dpo_lora or {})}
    dpo = get_peft_model(merged, LoraConfig(**dpo_config, init_lora_weights=False))
    AdapterDataset(str(root / "dpo")).save(TrainedAdapter(dpo, tokenizer, {"merged_parents": [str(root / "sft")]}))
    return {"base": base, "sft": root / "sft", "dpo": root / "dpo"}
