"""The set-up, sweep (trial table with recomputed guards), final comparison and sample-reply sections."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from empo_kedro.reporting.results.lookup import find_ci
from empo_kedro.reporting.results.wording import LABELS, describe_difference, markdown_table, minutes, num
from empo_kedro.sweep.space import guard_failures
from empo_kedro.tracking import sweep_schema
from empo_kedro.tracking.sweep_results import SweepRecord

# Trial metrics shown in the sweep table, with their column names.
TRIAL_COLUMNS = {
    "eval/diff_mean": "diff_mean",
    "eval/bertscore_f1": "bertscore_f1",
    "eval/kl_to_base": "kl_to_base",
    "eval/changed_vs_sft": "changed vs SFT",
    "train/eval_rewards/accuracies": "held-out reward acc.",
    "train/eval_rewards/margins": "held-out reward margin",
}
SFT_COLUMNS = ("eval/diff_mean", "eval/bertscore_f1", "eval/kl_to_base")


def guards_text(record: SweepRecord) -> str:
    texts = {
        "bertscore_f1_max_drop": "BERTScore F1 at most {} below SFT's",
        "kl_to_base_max_increase": "KL to the base at most {} nats/token above SFT's",
    }
    parts = [
        text.format(value)
        for name, text in texts.items()
        if (value := record.params.get(sweep_schema.GUARD_PARAM_PREFIX + name)) not in (None, "None")
    ]
    return ", ".join(parts) or "none set"


def setup_section(record: SweepRecord) -> list[str]:
    tags, metrics = record.tags, record.metrics
    return [
        "## Set-up",
        "",
        f"- Kedro environment: `{tags.get('env') or 'base (default)'}`; dialogues per split: "
        f"{tags.get(sweep_schema.DATA_DIALOGUES, 'n/a')}.",
        f"- Base model: {tags.get('base_model', 'n/a')}; seed {record.params.get('seed', 'n/a')}.",
        f"- Machine: {tags.get('machine.cpu', 'n/a')}, {tags.get('machine.cores', '?')} cores usable, "
        f"{tags.get('machine.torch_threads', '?')} torch threads, GPU: {tags.get('machine.gpu', 'n/a')}, "
        f"memory {tags.get('machine.memory_gib', '?')} GiB; torch {tags.get('machine.torch', '?')}.",
        f"- Wall time: trials {minutes(metrics.get(sweep_schema.TRIALS_WALL_S))} "
        f"({num(metrics.get(sweep_schema.N_TRIALS), 0)} trials, {num(metrics.get(sweep_schema.N_REUSED), 0)} of them "
        "reused from earlier sessions, each timed when it ran), ablation "
        f"{minutes(metrics.get(sweep_schema.ABLATION_WALL_S))}, final comparison "
        f"{minutes(metrics.get(sweep_schema.FINAL_WALL_S))} (the run that finished it: replies an interrupted "
        "earlier run had generated are reused, not timed again); "
        f"the last session took {minutes(record.session_seconds)}.",
        "",
    ]


def guard_status(record: SweepRecord, trial: pd.Series) -> str:
    """The guards recomputed from the MLflow values (trial metrics, SFT reference, guard parameters)."""
    guards = {}
    for name in ("bertscore_f1_max_drop", "kl_to_base_max_increase"):
        value = record.params.get(sweep_schema.GUARD_PARAM_PREFIX + name)
        guards[name] = None if value in (None, "None") else float(value)
    reference = {
        f"eval/{m}": record.metrics.get(sweep_schema.SFT_METRIC_PREFIX + m) for m in ("bertscore_f1", "kl_to_base")
    }
    values = {name: trial.get(name) for name in reference}
    if any(v is None or math.isnan(float(v)) for v in (*reference.values(), *values.values())):
        return "n/a"
    failures = guard_failures(values, reference, guards)
    return "ok" if not failures else "; ".join(failures)


def sweep_section(record: SweepRecord, plot_file: str) -> list[str]:
    tags, metrics = record.tags, record.metrics
    split = tags.get(sweep_schema.SELECTION_SPLIT, "valid")
    none_passed = (
        " (none did: the best of all trials is reported)" if tags.get(sweep_schema.GUARDS_PASSED) == "false" else ""
    )
    chosen = ", ".join(
        f"`{k.removeprefix(sweep_schema.BEST_SETTING_PREFIX)}` = {v}"
        for k, v in sorted(tags.items())
        if k.startswith(sweep_schema.BEST_SETTING_PREFIX)
    )
    out = [
        f"## Sweep: selection on the `{split}` split",
        "",
        f"- Search: {record.params.get('sweep.method', '?')} over "
        f"{', '.join(f'`{k}`' for k in record.varied) or 'n/a'}; {tags.get(sweep_schema.SELECTION_PROMPTS, '?')} "
        f"prompts of the `{split}` split per trial. The test split is never used for selection.",
        f"- Rule: {tags.get(sweep_schema.SELECTION_GOAL, 'min')} `{tags.get(sweep_schema.SELECTION_METRIC, '?')}` "
        "among the "
        f"trials within the guards ({guards_text(record)}); {num(metrics.get(sweep_schema.N_PASSING_GUARDS), 0)} "
        f"trial(s) passed{none_passed}.",
        f"- Chosen: trial `{tags.get(sweep_schema.BEST_TRIAL, '?')}` "
        f"(MLflow run `{tags.get(sweep_schema.BEST_RUN_ID, '?')}`): "
        f"{chosen}.",
        "",
    ]
    settings = [k for k in record.varied if k != "strategy"]
    header = ["#", "role", "trial", *settings, "strategy", *TRIAL_COLUMNS.values(), "guards"]
    sft = [
        "SFT",
        "reference",
        "",
        *["" for _ in settings],
        "",
        *[
            num(metrics.get(sweep_schema.SFT_METRIC_PREFIX + c.removeprefix("eval/"))) if c in SFT_COLUMNS else ""
            for c in TRIAL_COLUMNS
        ],
        "",
    ]
    rows = [sft]
    for _, trial in record.trials.iterrows():
        best = " **(best)**" if trial["trial_id"] == tags.get(sweep_schema.BEST_TRIAL) else ""
        rows.append(
            [
                trial["index"],
                trial["role"],
                f"`{trial['trial_id'][:8]}`{best}",
                *[trial.get(k, "") for k in settings],
                trial["strategy"],
                *[num(trial.get(c)) for c in TRIAL_COLUMNS],
                guard_status(record, trial),
            ]
        )
    out += [markdown_table(header, rows), ""]
    if record.missing_trial_runs:
        out += [f"Trials without an MLflow run in this store (left out): {', '.join(record.missing_trial_runs)}.", ""]
    out += [
        f"![{tags.get(sweep_schema.SELECTION_METRIC, 'metric')} of each trial against its settings]({plot_file})",
        "",
        "`changed vs SFT`: fraction of prompts whose greedy reply differs from SFT's. `held-out reward acc.` / "
        "`margin`: DPO's implicit reward on held-out preference pairs (accuracy, mean chosen-rejected margin).",
        "",
    ]
    return out


def final_section(
    record: SweepRecord, ablation: str, key_metrics: Sequence[str], ci_metrics: Sequence[str]
) -> list[str]:
    split = record.tags.get(sweep_schema.FINAL_SPLIT, "test")
    mmlu = (
        "measured"
        if record.tags.get(sweep_schema.FINAL_MMLU) == "true"
        else "not measured in this run (sweep.final.mmlu: false)"
    )
    out = [
        f"## Final comparison on the `{split}` split",
        "",
        f"{record.final_artifact.get('n_prompts', '?')} prompts, greedy decoding; lower diff-EPITOME and KL are "
        f"better. MMLU {mmlu}.",
        "",
    ]
    columns = [m for m in key_metrics if any(m in values for values in record.final.values())]
    out += [
        markdown_table(
            ["variant", "rejected turns", "training seed", *[LABELS.get(m, m) for m in columns]],
            [
                [
                    v,
                    record.final_tags.get(v, {}).get("strategy", "") or "-",
                    record.final_tags.get(v, {}).get("train_seed", "") or "-",
                    *[num(record.final[v].get(m)) for m in columns],
                ]
                for v in record.final
            ],
        ),
        "",
    ]
    size = record.tags.get("sweep.final_train_size")
    if size:
        out += [
            f"The final DPO and ablation models train on {size}; `sft_len` is SFT decoding each prompt to the "
            "token length of DPO's reply; `reference` holds the human replies' emotion fit only.",
            "",
        ]
    out += ["### Paired bootstrap 95% CIs of the differences", ""]
    ci_rows, sentences = [], []
    for tuned, reference in (("dpo", "sft"), ("dpo", ablation), (ablation, "sft"), ("sft", "base")):
        for metric in ci_metrics:
            ci = find_ci(record, f"{tuned}-{reference}", metric)
            if ci is None:
                continue
            ci_rows.append(
                [
                    f"{tuned} - {reference}",
                    LABELS.get(metric, metric),
                    num(ci["diff"]),
                    num(ci["low"]),
                    num(ci["high"]),
                ]
            )
            sentences.append(f"- {describe_difference(tuned, reference, metric, ci['diff'], ci['low'], ci['high'])}.")
    return [*out, markdown_table(["contrast", "metric", "difference", "low", "high"], ci_rows), "", *sentences, ""]


def samples_section(record: SweepRecord, n_samples: int) -> list[str]:
    samples = record.final_artifact.get("samples", [])[:n_samples]
    if not samples:
        return []
    split = record.tags.get(sweep_schema.FINAL_SPLIT, "test")
    out = [
        "## Sample replies",
        "",
        f"Prompts of the `{split}` split where DPO's reply differs from SFT's come first; "
        "diff-EPITOME of each reply (lower is closer to the reference's empathy levels).",
        "",
    ]
    for sample in samples:
        rows = [["reference", sample.get("reference", ""), ""]]
        rows += [[v, reply, num(sample.get("diff_mean", {}).get(v), 2)] for v, reply in sample["replies"].items()]
        out += [
            f"**{sample['conv_id']}** ({sample.get('emotion', '')}). Speaker: {sample.get('context', '')}",
            "",
            markdown_table(["", "reply", "diff-EPITOME"], rows),
            "",
        ]
    return out
