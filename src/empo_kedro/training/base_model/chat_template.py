"""Chat templates with ``{% generation %}`` markers, which TRL's ``assistant_only_loss`` needs to mask the loss to
assistant turns: the shipped training template for SmolLM2 (``chat_templates/smollm2_training.jinja``, as TRL ships its
own training templates), and a verified rewriter as the fallback for other models' templates."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING

from empo_kedro.errors import UserFacingError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

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
# Training templates shipped as package data (as TRL ships its own): a known original template -> the file holding the
# same template with {% generation %} markers. Other templates go through the rewriter below.
TRAINING_TEMPLATES_DIR = "chat_templates"
TRAINING_TEMPLATE_FILES = {SMOLLM2_CHAT_TEMPLATE: "smollm2_training.jinja"}


class UnsupportedChatTemplateError(UserFacingError, ValueError):
    """A chat template could not be given {% generation %} markers without changing what it renders."""


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


def shipped_training_template(template: str) -> str | None:
    """The shipped training variant (with ``{% generation %}`` markers) of a known chat template, else None."""
    file_name = TRAINING_TEMPLATE_FILES.get(template)
    if file_name is None:
        return None
    return resources.files(__package__).joinpath(TRAINING_TEMPLATES_DIR, file_name).read_text(encoding="utf-8")


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
        trailing.insert(0, repr(value[len(stripped) :]))
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
    core_tail, trailing = _split_trailing_whitespace(terms[idx + 1 :])
    if not core_tail:  # nothing (no end-of-turn token) follows the content inside this expression
        return None
    prefix = terms[:idx]
    marked = (
        ("{{ " + " + ".join(prefix) + " }}" if prefix else "")
        + "{% generation %}{{ "
        + " + ".join([terms[idx], *core_tail])
        + " }}{% endgeneration %}"
        + ("{{ " + " + ".join(trailing) + " }}" if trailing else "")
    )
    # `{%+`/`+%}` switch off lstrip_blocks/trim_blocks (transformers enables both), so the new block tags eat no
    # whitespace that the original `{{ }}` kept; `-` keeps the original's explicit trimming.
    open_tag = "{%-" if left_dash else "{%+"
    close_tag = "-%}" if right_dash else "+%}"
    return f"{open_tag} if {var}['role'] == 'assistant' %}}{marked}{{% else %}}{{{{{expr}}}}}{{% endif {close_tag}"


def _render(
    template: str,
    messages: list[dict[str, str]],
    add_generation_prompt: bool,
    special_tokens: Mapping[str, str],
    with_mask: bool,
) -> tuple[str, list[tuple[int, int]]]:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, indices = render_jinja_template(
        conversations=[messages],
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        return_assistant_tokens_mask=with_mask,
        **special_tokens,
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
            for (start, end), content in zip(spans, contents, strict=True):
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
    none. A known template gets its shipped training variant (:func:`shipped_training_template`); any other is
    rewritten. The rewrite targets output expressions of the form
    ``{{ prefix + message['content'] + end_token + '\\n' }}`` (ChatML, Zephyr, Llama-3 style): for assistant
    messages it emits ``prefix``, then the marked ``content + end_token``, then the trailing whitespace outside the
    marker (the model stops at the end token, so the newline after it is not trained). Either result is verified by
    rendering probe conversations with and without ``add_generation_prompt``; :class:`UnsupportedChatTemplateError`
    is raised when the template cannot be rewritten safely. ``special_tokens`` (``bos_token``, ``eos_token``, ...)
    are passed to the renderer for the check.
    """
    if not isinstance(template, str) or not template.strip():
        raise UnsupportedChatTemplateError(f"chat template must be a non-empty string, got {template!r}")
    tokens = {**_DEFAULT_SPECIAL_TOKENS, **{k: v for k, v in (special_tokens or {}).items() if isinstance(v, str)}}
    if has_generation_markers(template):
        return template
    shipped = shipped_training_template(template)
    if shipped is not None:
        _check_marked_template(template, shipped, tokens)
        return shipped
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


def assistant_mask_ends_with_special_token(tokenizer: PreTrainedTokenizerBase) -> bool:
    """True if, for a user/assistant/user conversation, the assistant mask's last non-blank token is an added
    (special) token -- i.e. the model is trained to emit its end-of-turn token (the same probe TRL runs)."""
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"},
    ]
    try:
        out = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
    except (ValueError, TypeError, NotImplementedError) as exc:  # e.g. slow tokenizers have no offsets
        logger.warning("Could not compute an assistant mask with this tokenizer: %s", exc)
        return False
    added_ids = set(tokenizer.get_added_vocab().values())
    masked = [tok for tok, keep in zip(out["input_ids"], out["assistant_masks"], strict=True) if keep]
    for token_id in reversed(masked):
        if tokenizer.decode([token_id]).strip():
            return token_id in added_ids
    return False
