"""Offline MMLU (knowledge retention) through EleutherAI's lm-evaluation-harness.

Why offline: the run machines have no dataset hub. lm-eval itself ships real
MMLU *dev* questions (4-5 per subject, 282 in 57 subjects) inside the chain-of-thought
few-shot prompts of ``lm_eval/tasks/mmlu/flan_cot_fewshot/_cot_prompts.json``.
:func:`parse_shipped_mmlu` recovers them as structured multiple-choice items
(malformed ones are counted and logged, never silently dropped), and
:func:`run_mmlu` scores a model on them with lm-eval's standard zero-shot MMLU
protocol: same prompt as lm-eval's ``mmlu`` task (subject description, then
``question\\nA. ..\\nB. ..\\nC. ..\\nD. ..\\nAnswer:``), answer = argmax
log-likelihood of the continuations " A" / " B" / " C" / " D" (choices
``["A", "B", "C", "D"]`` with lm-eval's default target delimiter " ").

Caveats for reports: 281 usable dev questions give a coarse accuracy (one
question is ~0.36 points); compare models on the same questions with a paired
bootstrap over ``per_question``. The shipped text has known glitches that are
kept as-is: college_chemistry #3 has five options (reported as malformed),
abstract_algebra #1 starts with a stray sentence from the previous answer,
and some LaTeX lost its backslash (``\\frac`` -> newline + ``rac``).
``tasks=["mmlu"]`` (or any lm-eval task list) switches to the hub datasets
where those are reachable or cached.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import logging
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

#: Location of the CoT prompts inside the installed lm_eval package.
SHIPPED_PROMPTS_RELPATH = "tasks/mmlu/flan_cot_fewshot/_cot_prompts.json"
#: Name given to the generated local lm-eval task.
LOCAL_TASK_NAME = "empo_mmlu_local"
CHOICE_LABELS: tuple[str, ...] = ("A", "B", "C", "D")

#: lm-eval's standard MMLU prompt pieces (tasks/mmlu/default), as Jinja templates.
MMLU_DESCRIPTION = "The following are multiple choice questions (with answers) about {{subject_name}}.\n\n"
MMLU_DOC_TO_TEXT = (
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
)

_QUESTION_SEP = "\n\nQ: "
_ANSWER_MARKER = "\nA: "
_ANSWER_RE = re.compile(r"The answer is \(([A-Z])\)")


def shipped_prompts_path() -> Path:
    """Path of ``_cot_prompts.json`` inside the installed ``lm_eval`` package."""
    path = Path(str(importlib.resources.files("lm_eval").joinpath(SHIPPED_PROMPTS_RELPATH)))
    if not path.is_file():
        raise FileNotFoundError(f"lm-eval does not ship {SHIPPED_PROMPTS_RELPATH} (looked at {path}).")
    return path


def _split_options(options_text: str) -> list[str]:
    """Split ``(A) x (B) y ...`` into option texts, labels consumed in order.

    Options are separated by a space OR a newline before the next label
    (``(A) x\\n(B) y``; some options span several lines). Labels are searched
    sequentially ("(B) " after "(A) ", ...), so a stray "(X)" inside an
    option text cannot be mistaken for a label.
    """
    if not options_text.startswith("(A) "):
        return []
    cursor = len("(A) ")
    texts: list[str] = []
    for label in "BCDEFGHIJ":
        nxt = re.compile(rf"\s\({label}\) ").search(options_text, cursor)
        if nxt is None:
            break
        texts.append(options_text[cursor : nxt.start()].strip())
        cursor = nxt.end()
    texts.append(options_text[cursor:].strip())
    return texts


def _parse_block(block: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one ``Q: ...`` block; return (item, None) or (None, reason)."""
    n_markers = block.count(_ANSWER_MARKER)
    if n_markers != 1:
        return None, f"expected one '\\nA: ' answer marker, found {n_markers}"
    q_part, a_part = block.split(_ANSWER_MARKER)
    opt_pos = q_part.rfind("\n(A) ")
    if opt_pos < 0:
        return None, "no '(A) ...' options line"
    question = q_part[:opt_pos].strip()
    choices = _split_options(q_part[opt_pos + 1 :].strip())
    if len(choices) != len(CHOICE_LABELS):
        last = chr(ord("A") + len(choices) - 1)
        return None, f"{len(choices)} options (A)..({last}), expected 4"
    if not question:
        return None, "empty question"
    if any(not c for c in choices):
        return None, "empty option text"
    answers = _ANSWER_RE.findall(a_part)
    if not answers:
        return None, "no 'The answer is (X)' in the answer"
    letter = answers[-1]
    if letter not in CHOICE_LABELS:
        return None, f"answer ({letter}) is not one of A-D"
    return {"question": question, "choices": choices, "answer_index": CHOICE_LABELS.index(letter)}, None


def parse_shipped_mmlu(
    path: str | Path | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Recover MMLU dev questions from lm-eval's CoT few-shot prompts.

    Each subject's prompt is a header followed by blocks
    ``\\n\\nQ: <question>\\n(A) .. (B) .. (C) .. (D) ..\\nA: Let's think step by
    step. ... The answer is (X).``

    Returns:
        ``(questions, malformed)``: questions are dicts ``subject``, ``index``
        (block position within the subject), ``question``, ``choices`` (4
        strings), ``answer_index`` (0..3); malformed are dicts ``subject``,
        ``index``, ``reason`` for every block that could not be parsed into a
        4-option item (each is logged as a warning).
    """
    prompts: dict[str, str] = json.loads(Path(path or shipped_prompts_path()).read_text(encoding="utf-8"))
    questions: list[dict[str, Any]] = []
    malformed: list[dict[str, Any]] = []
    for subject, prompt in prompts.items():
        blocks = prompt.strip().split(_QUESTION_SEP)[1:]
        if not blocks:
            malformed.append({"subject": subject, "index": -1, "reason": "no 'Q:' block in prompt"})
        for index, block in enumerate(blocks):
            item, reason = _parse_block(block.strip())
            if item is None:
                malformed.append({"subject": subject, "index": index, "reason": reason})
            else:
                questions.append({"subject": subject, "index": index, **item})
    for bad in malformed:
        logger.warning("Shipped MMLU item malformed, not used: %(subject)s #%(index)d: %(reason)s", bad)
    logger.info(
        "Parsed %d shipped MMLU questions from %d subjects; %d malformed.",
        len(questions),
        len(prompts),
        len(malformed),
    )
    return questions, malformed


def write_local_mmlu_task(
    questions: Sequence[dict[str, Any]],
    work_dir: str | Path,
    task_name: str = LOCAL_TASK_NAME,
) -> dict[str, Any]:
    """Write questions as JSONL and return an inline lm-eval task config dict.

    The config mirrors lm-eval's ``mmlu`` default template (zero-shot
    multiple-choice log-likelihood, ``acc``) but reads the local file through
    the packaged ``json`` dataset builder, so nothing is downloaded. The HF
    datasets cache goes under ``work_dir`` too.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    data_file = work_dir / f"{task_name}.jsonl"
    with data_file.open("w", encoding="utf-8") as fh:
        for q in questions:
            row = {
                "subject": q["subject"],
                "subject_name": q["subject"].replace("_", " "),
                "index": q["index"],
                "question": q["question"],
                "choices": list(q["choices"]),
                "answer": int(q["answer_index"]),
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return {
        "task": task_name,
        "dataset_path": "json",
        "dataset_kwargs": {
            "data_files": {"test": str(data_file)},
            "cache_dir": str(work_dir / "hf_datasets_cache"),
        },
        "test_split": "test",
        "fewshot_split": "test",
        "fewshot_config": {"sampler": "first_n"},
        "output_type": "multiple_choice",
        "description": MMLU_DESCRIPTION,
        "doc_to_text": MMLU_DOC_TO_TEXT,
        "doc_to_choice": list(CHOICE_LABELS),
        "doc_to_target": "answer",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0, "source": "lm_eval shipped flan_cot_fewshot dev questions"},
    }


def _build_lm(
    model_path: str | Path | None,
    adapter_path: str | Path | None,
    model: Any,
    tokenizer: Any,
    batch_size: int | str,
    device: str,
    dtype: str,
    max_length: int | None,
) -> Any:
    """Wrap paths or a pre-built model in lm-eval's ``HFLM``."""
    from lm_eval.models.huggingface import HFLM

    if model is not None:
        if tokenizer is None:
            raise ValueError("Passing a model object requires its tokenizer too.")
        if adapter_path is not None:
            # e.g. a DPO adapter on top of an SFT-merged base held in memory
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter_path))
        model.eval()
        return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=max_length)
    if model_path is None:
        raise ValueError("Give either model_path or model (+ tokenizer).")
    return HFLM(
        pretrained=str(model_path),
        tokenizer=tokenizer,
        peft=str(adapter_path) if adapter_path is not None else None,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        max_length=max_length,
    )


def _per_question(task: str, samples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scored question: correctness, prediction and log-likelihoods.

    Why: paired comparisons between models (bootstrap over questions) need
    per-question outcomes, not only the mean.
    """
    rows = []
    for s in samples:
        doc = s["doc"] if isinstance(s.get("doc"), dict) else {}
        try:  # multiple-choice: one (loglikelihood, is_greedy) pair per choice
            lls = [float(r[0]) for r in s["filtered_resps"]]
        except (TypeError, ValueError, IndexError):
            lls = []
        rows.append(
            {
                "task": task,
                "doc_id": int(s["doc_id"]),
                "subject": doc.get("subject", task),
                "index": doc.get("index", int(s["doc_id"])),
                "target": int(s["target"]) if isinstance(s["target"], int) else s["target"],
                "pred_index": max(range(len(lls)), key=lls.__getitem__) if lls else -1,
                "correct": float(s.get("acc", float("nan"))),
                "loglikelihoods": lls,
            }
        )
    return rows


def _per_subject(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    hits: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        hits[row["subject"]].append(row["correct"])
    return {subj: {"accuracy": sum(v) / len(v), "n": len(v)} for subj, v in sorted(hits.items())}


def run_mmlu(
    model_path: str | Path | None = None,
    adapter_path: str | Path | None = None,
    tasks: Sequence[str] | Literal["local"] = "local",
    num_fewshot: int = 0,
    batch_size: int | str = 8,
    limit: int | float | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    model: Any = None,
    tokenizer: Any = None,
    subjects: Sequence[str] | None = None,
    prompts_path: str | Path | None = None,
    work_dir: str | Path | None = None,
    max_length: int | None = None,
    bootstrap_iters: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a model on MMLU with lm-eval; offline by default.

    Args:
        model_path: local HF model dir (used when ``model`` is None).
        adapter_path: PEFT adapter dir applied on top (on ``model_path`` via
            HFLM's ``peft=``, or on the given ``model`` object).
        tasks: ``"local"`` = the shipped dev questions (offline); otherwise
            lm-eval task/group name(s), e.g. ``["mmlu"]`` (needs the hub or
            a warm datasets cache).
        num_fewshot: few-shot examples; for ``"local"`` they are drawn
            (first-n) from the same pool, excluding the question itself.
        batch_size: lm-eval batch size (int or "auto").
        limit: lm-eval ``limit`` (per task; for ``"local"`` the first N
            questions in subject order, for smoke tests only).
        device / dtype: where/how HFLM loads ``model_path`` (ignored for a
            pre-built ``model``, which stays where it is).
        model / tokenizer: pre-built ``transformers`` model (or PeftModel)
            and its tokenizer, e.g. a stacked adapter built in memory.
        subjects: restrict the local task to these subjects.
        prompts_path: alternative ``_cot_prompts.json`` (default: shipped).
        work_dir: where the local task data goes (default: a temp dir,
            deleted afterwards).
        max_length: context length override for HFLM.
        bootstrap_iters: lm-eval stderr bootstrap iterations (0 = off).
        seed: lm-eval's python/numpy/torch/fewshot seeds.

    Returns:
        dict with ``accuracy``, ``n_questions``, ``n_malformed``,
        ``malformed`` (list), ``per_subject`` ({subject: {accuracy, n}};
        for hub tasks the subject is the lm-eval task name),
        ``per_question`` (rows: task, doc_id, subject, index, target,
        pred_index, correct, loglikelihoods),
        ``tasks``, ``num_fewshot``, ``limit``, ``elapsed_s``, ``lm_eval_version``
        and ``raw_results`` (lm-eval's ``results`` section).
    """
    import lm_eval
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    if isinstance(tasks, str) and tasks != "local":
        tasks = [tasks]  # a single lm-eval task/group name, e.g. "mmlu"
    local = isinstance(tasks, str)
    malformed: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    if local:  # parse and validate before loading any model
        questions, malformed = parse_shipped_mmlu(prompts_path)
        if subjects is not None:
            wanted = set(subjects)
            unknown = sorted(wanted - {q["subject"] for q in questions})
            if unknown:
                raise ValueError(f"Unknown MMLU subjects: {unknown}")
            questions = [q for q in questions if q["subject"] in wanted]
            malformed = [m for m in malformed if m["subject"] in wanted]

    lm = _build_lm(model_path, adapter_path, model, tokenizer, batch_size, device, dtype, max_length)
    eval_kwargs: dict[str, Any] = dict(
        model=lm,
        num_fewshot=num_fewshot,
        limit=limit,
        bootstrap_iters=bootstrap_iters,
        log_samples=True,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    if local:
        with tempfile.TemporaryDirectory(prefix="empo_mmlu_") as tmp:
            config = write_local_mmlu_task(questions, work_dir or tmp)
            # include_defaults=False: skip indexing lm-eval's ~10k task YAMLs
            results = lm_eval.simple_evaluate(
                tasks=[config], task_manager=TaskManager(include_defaults=False), **eval_kwargs
            )
        task_names = [LOCAL_TASK_NAME]
    else:
        task_names = list(tasks)
        results = lm_eval.simple_evaluate(tasks=task_names, **eval_kwargs)

    if results is None:  # non-zero rank in distributed runs
        raise RuntimeError("lm-eval returned no results (non-zero process rank?)")
    res = results["results"]
    samples = results.get("samples", {})
    rows = [row for name in samples for row in _per_question(name, samples[name])]
    per_subject = _per_subject(rows)
    n_questions = len(rows)
    head = task_names[0]
    if "acc,none" in res.get(head, {}):
        accuracy = float(res[head]["acc,none"])
    else:  # a group without an aggregate: micro-average over its questions
        accuracy = sum(r["correct"] for r in rows) / n_questions if n_questions else float("nan")

    return {
        "accuracy": accuracy,
        "n_questions": n_questions,
        "n_malformed": len(malformed),
        "malformed": malformed,
        "per_subject": per_subject,
        "per_question": rows,
        "tasks": task_names,
        "num_fewshot": num_fewshot,
        "limit": limit,
        "elapsed_s": time.perf_counter() - start,
        "lm_eval_version": importlib.metadata.version("lm_eval"),
        "raw_results": res,
    }
