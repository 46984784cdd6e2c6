"""docs/results.md from a finished sweep, so every number in it is the one MLflow holds.

The record is read from MLflow by :mod:`empo_kedro.tracking.sweep_results`; everything here renders that plain
:class:`~empo_kedro.tracking.sweep_results.SweepRecord` (no MLflow access). The sentences about differences are
computed from the CIs: a CI that contains 0 is reported as "no detectable difference".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import pandas as pd

from empo_kedro.reporting.plots import categorical_setting, plot_sweep
from empo_kedro.sweep.space import guard_failures
from empo_kedro.tracking import sweep_schema
from empo_kedro.tracking.sweep_results import SweepRecord, load_sweep_record

if TYPE_CHECKING:
    import mlflow

logger = logging.getLogger(__name__)

# Direction of each metric: -1 lower is better, +1 higher is better, 0 neither (a description, not a verdict).
DIRECTION = {
    "diff_mean": -1,
    "diff_ER": -1,
    "diff_IP": -1,
    "diff_EX": -1,
    "kl_to_base": -1,
    "bertscore_f1": 1,
    "bertscore_precision": 1,
    "bertscore_recall": 1,
    "mmlu_correct": 1,
    "mmlu_accuracy": 1,
    "emotion_p_true": 1,
    "emotion_top3": 1,
    "emotion_p_opposite": -1,
}
LABELS = {
    "diff_mean": "mean diff-EPITOME",
    "diff_ER": "diff-EPITOME ER",
    "diff_IP": "diff-EPITOME IP",
    "diff_EX": "diff-EPITOME EX",
    "bertscore_f1": "BERTScore F1",
    "kl_to_base": "KL to base (nats/token)",
    "mmlu_correct": "MMLU accuracy",
    "mmlu_accuracy": "MMLU accuracy",
    "length_words": "reply length (words)",
    "distinct_2": "distinct-2",
    "emotion_p_true": "mass on the speaker's emotion",
    "emotion_top3": "speaker's emotion in top 3",
    "emotion_p_opposite": "mass on the opposite emotion",
}
# Kinds of the length and seed checks on the parent run (``final_<kind>/<contrast>/<metric>/<bound>``).
ADJUSTED, SEEDS, LC_WIN_RATE = "length_adjusted", "seeds", "lc_win_rate"
DPO_VARIANT = "dpo"
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


def num(value: Any, digits: int = 4) -> str:
    """How every number is written in the document (tests compare with MLflow's values through it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.0000"


def describe_difference(tuned: str, reference: str, metric: str, diff: float, low: float, high: float) -> str:
    """One sentence from a CI: which side is better, or no detectable difference when the CI contains 0."""
    label = LABELS.get(metric, metric)
    figures = f"{tuned} - {reference} {label} = {num(diff)} [{num(low)}, {num(high)}]"
    if low <= 0 <= high:
        return f"{figures}: no detectable difference"
    direction = DIRECTION.get(metric, 0)
    if direction == 0:
        return f"{figures}: {tuned} is {'higher' if low > 0 else 'lower'}"
    better = (low > 0) == (direction > 0)
    return f"{figures}: {tuned} is {'better' if better else 'worse'}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def _minutes(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / 60:.1f} min"


def _ci(record: SweepRecord, contrast: str, metric: str) -> dict | None:
    rows = (
        record.cis.loc[(record.cis["contrast"] == contrast) & (record.cis["metric"] == metric)]
        if len(record.cis)
        else record.cis
    )
    return rows.iloc[0].to_dict() if len(rows) else None


def _sentence(record: SweepRecord, tuned: str, reference: str, metric: str) -> str:
    ci = _ci(record, f"{tuned}-{reference}", metric)
    if ci is None:
        return f"{tuned} - {reference} {LABELS.get(metric, metric)}: not measured"
    return describe_difference(tuned, reference, metric, ci["diff"], ci["low"], ci["high"])


def _targets(record: SweepRecord, ablation: str) -> list[str]:
    """The issue's targets, each met / not met from the CIs (the criterion stated beside it)."""
    lines = []
    diff = _ci(record, "dpo-sft", "diff_mean")
    if diff is not None:
        met = diff["high"] < 0
        lines.append(
            f"- DPO better than SFT on mean diff-EPITOME, CI excluding 0: **{'met' if met else 'not met'}** "
            f"({_sentence(record, 'dpo', 'sft', 'diff_mean')})."
        )
    for metric, worse_side in (("kl_to_base", "low"), ("mmlu_correct", "high")):
        ci = _ci(record, "dpo-sft", metric)
        label = LABELS[metric]
        if ci is None:
            lines.append(f"- {label} no worse than SFT's: **not measured** in this run.")
            continue
        worse = ci["low"] > 0 if worse_side == "low" else ci["high"] < 0
        lines.append(
            f"- {label} no worse than SFT's (not detectably worse: the CI is not entirely on the worse "
            f"side): **{'not met' if worse else 'met'}** ({_sentence(record, 'dpo', 'sft', metric)})."
        )
    versus = _ci(record, f"dpo-{ablation}", "diff_mean")
    if versus is not None:
        dpo_strategy = record.final_tags.get("dpo", {}).get("strategy", "?")
        other = record.final_tags.get(ablation, {}).get("strategy", "?")
        if versus["low"] <= 0 <= versus["high"]:
            answer = "no detectable difference between the two choices of rejected turns"
        else:
            winner = dpo_strategy if versus["high"] < 0 else other
            answer = f"rejected turns chosen by **{winner}** give the lower (better) mean diff-EPITOME"
        lines.append(
            f"- Does the Plutchik-opposite choice of rejected turns beat random ones? DPO({dpo_strategy}) "
            f"vs DPO({other}), same settings: {answer} "
            f"({_sentence(record, 'dpo', ablation, 'diff_mean')})."
        )
    return lines


def _guards_text(record: SweepRecord) -> str:
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


def _setup_section(record: SweepRecord) -> list[str]:
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
        f"- Wall time: trials {_minutes(metrics.get(sweep_schema.TRIALS_WALL_S))} "
        f"({num(metrics.get(sweep_schema.N_TRIALS), 0)} trials, {num(metrics.get(sweep_schema.N_REUSED), 0)} of them "
        "reused from earlier sessions, each timed when it ran), ablation "
        f"{_minutes(metrics.get(sweep_schema.ABLATION_WALL_S))}, final comparison "
        f"{_minutes(metrics.get(sweep_schema.FINAL_WALL_S))}; "
        f"the last session took {_minutes(record.session_seconds)}.",
        "",
    ]


def _guard_status(record: SweepRecord, trial: pd.Series) -> str:
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


def _sweep_section(record: SweepRecord, plot_file: str) -> list[str]:
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
        f"trials within the guards ({_guards_text(record)}); {num(metrics.get(sweep_schema.N_PASSING_GUARDS), 0)} "
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
                _guard_status(record, trial),
            ]
        )
    out += [_table(header, rows), ""]
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


def _final_section(
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
        _table(
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
            ci = _ci(record, f"{tuned}-{reference}", metric)
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
    return [*out, _table(["contrast", "metric", "difference", "low", "high"], ci_rows), "", *sentences, ""]


def _check(record: SweepRecord, kind: str, contrast: str, metric: str) -> dict | None:
    rows = (
        record.checks.loc[
            (record.checks["kind"] == kind)
            & (record.checks["contrast"] == contrast)
            & (record.checks["metric"] == metric)
        ]
        if len(record.checks)
        else record.checks
    )
    return rows.iloc[0].to_dict() if len(rows) else None


def describe_win_rate(tuned: str, reference: str, lc: float, low: float, high: float, raw: float | None) -> str:
    """One sentence from a length-controlled win rate and its CI (its null is 0.5)."""
    figures = (
        f"length-controlled win rate of {tuned} over {reference} = {num(lc, 3)} [{num(low, 3)}, {num(high, 3)}]"
        f" (raw {num(raw, 3)})"
    )
    if low <= 0.5 <= high:
        return f"{figures}: no detectable difference at equal length"
    return f"{figures}: {tuned} is {'better' if low > 0.5 else 'worse'} at equal length"


def _seed_numbers(record: SweepRecord, variant: str, metric: str) -> tuple[float | None, float | None, int]:
    metrics = record.metrics
    return (
        metrics.get(f"seeds/{variant}/{metric}/mean"),
        metrics.get(f"seeds/{variant}/{metric}/sd"),
        int(metrics.get(f"seeds/{variant}/n", 1)),
    )


def _describe_row(tuned: str, reference: str, metric: str, ci: Mapping[str, float]) -> str:
    return describe_difference(tuned, reference, metric, ci["diff"], ci["low"], ci["high"])


def _seed_counts(record: SweepRecord, groups: Sequence[str]) -> list[str]:
    return [f"{group}: {int(record.metrics[f'seeds/{group}/n'])}" for group in groups]


def _check_sentences(record: SweepRecord, ablation: str) -> list[str]:
    """The answer's lines on length, seeds, the mechanism and power, each computed from its CI."""
    lines = []
    n_seeds = int(record.metrics.get(f"seeds/{DPO_VARIANT}/n", 1))
    pooled = _check(record, SEEDS, f"{DPO_VARIANT}-sft", "diff_mean")
    if pooled is not None:
        lines.append(
            f"- Pooled over {n_seeds} training seed(s) (prompts and seeds resampled): "
            f"{_describe_row('dpo', 'sft', 'diff_mean', pooled)}."
        )
    adjusted = _check(record, ADJUSTED, "dpo-sft", "diff_mean")
    if adjusted is not None:
        lines.append(
            "- At equal reply length (length-adjusted, OLS per reply: metric ~ 1 + is_tuned + "
            f"length_words): {_describe_row('dpo', 'sft', 'diff_mean', adjusted)}."
        )
    matched = _ci(record, "dpo-sft_len", "diff_mean")
    if matched is not None:
        lines.append(
            "- Against SFT decoding to DPO's reply length (`sft_len`): "
            f"{_describe_row('dpo', 'sft_len', 'diff_mean', matched)}."
        )
    lc = _check(record, LC_WIN_RATE, "dpo-sft", "diff_mean")
    if lc is not None:
        lines.append(f"- {describe_win_rate('dpo', 'sft', lc['diff'], lc['low'], lc['high'], lc.get('win_rate'))}.")
    opposite = _check(record, SEEDS, f"dpo-{ablation}", "emotion_p_opposite")
    if opposite is not None:
        if opposite["low"] <= 0 <= opposite["high"]:
            verdict = "no detectable difference: the measured mechanism does not separate the two choices"
        elif opposite["high"] < 0:
            verdict = "yes, DPO(plutchik) puts less mass on the opposite emotion than DPO(random)"
        else:
            verdict = "no, DPO(plutchik) puts *more* mass on the opposite emotion than DPO(random)"
        lines.append(
            "- Does DPO with Plutchik-opposite rejected turns lower the mass on the opposite emotion more "
            f"than with random ones? {verdict} (dpo - {ablation} = {num(opposite['diff'])} "
            f"[{num(opposite['low'])}, {num(opposite['high'])}], pooled over seeds)."
        )
    versus = _check(record, SEEDS, f"dpo-{ablation}", "diff_mean")
    if versus is not None:
        half = (versus["high"] - versus["low"]) / 2
        lines.append(
            f"- Detectable difference: with {num(record.final_artifact.get('n_prompts'), 0)} test prompts "
            f"and {n_seeds} seed(s) per arm, the 95% CI of DPO - DPO({ablation.removeprefix('dpo_')}) mean "
            f"diff-EPITOME has a half-width of {num(half)}: smaller true differences than about that "
            f"cannot be told from 0 by this design."
        )
    return lines


def _checks_section(
    record: SweepRecord, ablation: str, adjusted_metrics: Sequence[str], emotion_metrics: Sequence[str]
) -> list[str]:
    out = ["## Length, seeds and the mechanism", ""]
    groups = [g for g in (DPO_VARIANT, ablation) if f"seeds/{g}/n" in record.metrics]
    if groups:
        out += [
            "### Across training seeds",
            "",
            f"Training seeds per arm: {', '.join(_seed_counts(record, groups))} "
            "(rows `<variant>_s<i>` of the table above; seed i trains with the project seed + i). Mean and "
            "sample sd across seeds:",
            "",
        ]
        rows = []
        for metric in ("diff_mean", "bertscore_f1", "length_words", *emotion_metrics):
            cells = []
            for group in groups:
                mean, sd, _ = _seed_numbers(record, group, metric)
                cells.append(f"{num(mean)} ± {num(sd)}")
            rows.append([LABELS.get(metric, metric), *cells])
        out += [_table(["metric", *groups], rows), ""]
        pooled_rows = [
            [
                c["contrast"].replace("-", " - "),
                LABELS.get(c["metric"], c["metric"]),
                num(c["diff"]),
                num(c["low"]),
                num(c["high"]),
            ]
            for c in record.checks.to_dict("records")
            if c["kind"] == SEEDS and c["metric"] in ("diff_mean", "bertscore_f1", "length_words", *emotion_metrics)
        ]
        out += [
            "Pooled over seeds (95% CI resampling prompts and, per arm, seeds):",
            "",
            _table(["contrast", "metric", "difference", "low", "high"], pooled_rows),
            "",
        ]
    adjusted = [
        c for c in record.checks.to_dict("records") if c["kind"] == ADJUSTED and c["metric"] in adjusted_metrics
    ]
    if adjusted:
        out += [
            "### Length control",
            "",
            "Length-adjusted differences: per contrast the OLS fit metric ~ 1 + is_tuned + length_words over "
            "both variants' replies (words), is_tuned's coefficient; 95% CIs resample prompts (and seeds). "
            "`sft_len` is SFT decoding each prompt to the token length of DPO's reply (EOS held back until then).",
            "",
            _table(
                ["contrast", "metric", "unadjusted", "adjusted", "low", "high"],
                [
                    [
                        c["contrast"].replace("-", " - "),
                        LABELS.get(c["metric"], c["metric"]),
                        num(c.get("raw_diff")),
                        num(c["diff"]),
                        num(c["low"]),
                        num(c["high"]),
                    ]
                    for c in adjusted
                ],
            ),
            "",
        ]
        out += [
            f"- {_describe_row(*c['contrast'].split('-', 1), c['metric'], c)} (length-adjusted)."
            for c in adjusted
            if c["metric"] == "diff_mean"
        ]
        for c in record.checks.to_dict("records"):
            if c["kind"] == LC_WIN_RATE:
                tuned, reference = c["contrast"].split("-", 1)
                sentence = describe_win_rate(tuned, reference, c["diff"], c["low"], c["high"], c.get("win_rate"))
                out.append(
                    f"- {sentence}"
                    " (AlpacaEval-style: logistic fit of win ~ 1 + tanh(length difference / sd); lower "
                    "diff-EPITOME wins, ties half)."
                )
        out.append("")
    top1 = record.metrics.get("emotion_classifier/top1_accuracy")
    emotion_rows = [
        [v, *[num(record.final[v].get(m)) for m in emotion_metrics]]
        for v in record.final
        if any(m in record.final[v] for m in emotion_metrics)
    ]
    if emotion_rows:
        out += [
            "### Emotion fit (the mechanism)",
            "",
            f"An emotion classifier (frozen MiniLM + logistic head, ED's 32 labels) trained on the train split's "
            f"listener turns labelled with their conversation's emotion: held-out top-1 accuracy {num(top1, 3)}, "
            f"top-3 {num(record.metrics.get('emotion_classifier/top3_accuracy'), 3)} on "
            f"{num(record.metrics.get('emotion_classifier/n_heldout'), 0)} listener turns (chance top-1 "
            f"{num(record.metrics.get('emotion_classifier/chance_top1'), 3)}). Per reply: the probability mass on "
            f"the conversation's emotion, whether it is in the top 3, and the mass on its opposite in the "
            f"`{record.tags.get('sweep.final_opposite_map', '?')}` map (the pairs' map). `reference` is the human "
            "replies (the ceiling).",
            "",
            _table(["variant", *[LABELS.get(m, m) for m in emotion_metrics]], emotion_rows),
            "",
        ]
        for tuned, reference in (("dpo", ablation), ("dpo", "sft"), (ablation, "sft")):
            c = _check(record, SEEDS, f"{tuned}-{reference}", "emotion_p_opposite")
            if c is not None:
                out.append(f"- {_describe_row(tuned, reference, 'emotion_p_opposite', c)} (pooled over seeds).")
        out.append("")
    scorer_rows = []
    for mechanism in ("ER", "IP", "EX"):
        ours = [record.metrics.get(f"scorer/{mechanism}/{k}") for k in ("accuracy", "macro_f1")]
        published = [record.metrics.get(f"scorer/{mechanism}/published_{k}") for k in ("accuracy", "macro_f1")]
        if any(v is not None for v in ours):
            scorer_rows.append([mechanism, *[num(v, 3) for v in ours], *[num(v, 3) for v in published]])
    if scorer_rows:
        out += [
            "### The EPITOME scorer behind diff-EPITOME",
            "",
            "Our MiniLM EPITOME classifier on its held-out test split, next to the published RoBERTa models "
            "(Sharma et al. 2020). Every diff-EPITOME number above is only as good as this scorer.",
            "",
            _table(["mechanism", "accuracy", "macro-F1", "published accuracy", "published macro-F1"], scorer_rows),
            "",
        ]
    return out


def _samples_section(record: SweepRecord, n_samples: int) -> list[str]:
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
            _table(["", "reply", "diff-EPITOME"], rows),
            "",
        ]
    return out


def render_markdown(
    record: SweepRecord,
    plot_file: str,
    n_samples: int,
    key_metrics: Sequence[str],
    ci_metrics: Sequence[str],
    adjusted_metrics: Sequence[str] = ("diff_mean",),
    emotion_metrics: Sequence[str] = ("emotion_p_true", "emotion_top3", "emotion_p_opposite"),
) -> str:
    """The document (see the module docstring)."""
    ablation = record.tags.get("sweep.final_ablation") or next(
        (v for v in record.final if v.startswith("dpo_")), "dpo_random"
    )
    header = [
        "# Results: emotion-grounded DPO at CPU scale",
        "",
        f"_Generated by `make results` (`kedro run --pipeline=results`) from the MLflow sweep run "
        f"`{record.run_id}` (experiment `{record.experiment}`) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Every number below is read from MLflow; do not edit this "
        "file by hand._",
        "",
        "## Answer",
        "",
        *_targets(record, ablation),
        *_check_sentences(record, ablation),
        "",
    ]
    lines = [
        *header,
        *_setup_section(record),
        *_sweep_section(record, plot_file),
        *_final_section(record, ablation, key_metrics, ci_metrics),
        *_checks_section(record, ablation, adjusted_metrics, emotion_metrics),
        *_samples_section(record, n_samples),
    ]
    return "\n".join(lines).rstrip() + "\n"


def trials_plot(record: SweepRecord) -> plt.Figure:
    """The selection metric of every trial against its numeric settings, from the MLflow runs."""
    metric = record.tags.get(sweep_schema.SELECTION_METRIC, "eval/diff_mean")
    reference = record.metrics.get(sweep_schema.SFT_METRIC_PREFIX + metric.split("/", 1)[-1])
    frame = record.trials if len(record.trials) else pd.DataFrame(columns=["trial_id", "strategy", metric])
    return plot_sweep(
        frame,
        [k for k in record.varied if k != "strategy"],
        metric,
        reference,
        record.tags.get(sweep_schema.BEST_TRIAL),
        "Sweep trials (from MLflow)",
        style_key=categorical_setting(frame, record.varied),
    )


def build_results(params: Mapping[str, Any], client: mlflow.MlflowClient | None = None) -> tuple[str, plt.Figure]:
    """The markdown and the plot for ``results`` parameters (see parameters_sweep.yml)."""
    record = load_sweep_record(params.get("sweep_run_id"), client, params.get("sweep_data_root"))
    markdown = render_markdown(
        record,
        params["plot_file"],
        int(params["n_samples"]),
        params["key_metrics"],
        params["ci_metrics"],
        params.get("adjusted_metrics", ("diff_mean",)),
        params.get("emotion_metrics", ("emotion_p_true", "emotion_top3", "emotion_p_opposite")),
    )
    logger.info(
        "Results: sweep run %s, %d trials, %d final variants", record.run_id, len(record.trials), len(record.final)
    )
    return markdown, trials_plot(record)
