"""The "Length, seeds and the mechanism" section: seed spread, length control, emotion fit, the scorer's figures."""

from __future__ import annotations

from collections.abc import Sequence

from empo_kedro.reporting.results.lookup import (
    ADJUSTED,
    DPO_VARIANT,
    LC_WIN_RATE,
    SEEDS,
    find_check,
    seed_counts,
    seed_numbers,
)
from empo_kedro.reporting.results.wording import LABELS, describe_row, describe_win_rate, markdown_table, num
from empo_kedro.tracking.sweep_results import SweepRecord


def checks_section(
    record: SweepRecord, ablation: str, adjusted_metrics: Sequence[str], emotion_metrics: Sequence[str]
) -> list[str]:
    """Seeds, length control, emotion fit and the scorer, each part only when the record holds it."""
    return [
        "## Length, seeds and the mechanism",
        "",
        *_seeds_part(record, ablation, emotion_metrics),
        *_length_part(record, adjusted_metrics),
        *_emotion_part(record, ablation, emotion_metrics),
        *_scorer_part(record),
    ]


def _seeds_part(record: SweepRecord, ablation: str, emotion_metrics: Sequence[str]) -> list[str]:
    """Mean ± sd per arm across training seeds and the pooled CIs (absent without seed summaries)."""
    out: list[str] = []
    groups = [g for g in (DPO_VARIANT, ablation) if f"seeds/{g}/n" in record.metrics]
    if groups:
        out += [
            "### Across training seeds",
            "",
            f"Training seeds per arm: {', '.join(seed_counts(record, groups))} "
            "(rows `<variant>_s<i>` of the table above; seed i trains with the project seed + i). Mean and "
            "sample sd across seeds:",
            "",
        ]
        rows = []
        for metric in ("diff_mean", "bertscore_f1", "length_words", *emotion_metrics):
            cells = []
            for group in groups:
                mean, sd, _ = seed_numbers(record, group, metric)
                cells.append(f"{num(mean)} ± {num(sd)}")
            rows.append([LABELS.get(metric, metric), *cells])
        out += [markdown_table(["metric", *groups], rows), ""]
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
            markdown_table(["contrast", "metric", "difference", "low", "high"], pooled_rows),
            "",
        ]
    return out


def _length_part(record: SweepRecord, adjusted_metrics: Sequence[str]) -> list[str]:
    """Length-adjusted differences and length-controlled win rates (absent without them)."""
    out: list[str] = []
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
            markdown_table(
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
            f"- {describe_row(*c['contrast'].split('-', 1), c['metric'], c)} (length-adjusted)."
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
    return out


def _emotion_part(record: SweepRecord, ablation: str, emotion_metrics: Sequence[str]) -> list[str]:
    """Emotion fit per variant and its pooled CIs: does the mechanism show in the replies?"""
    out: list[str] = []
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
            markdown_table(["variant", *[LABELS.get(m, m) for m in emotion_metrics]], emotion_rows),
            "",
        ]
        for tuned, reference in (("dpo", ablation), ("dpo", "sft"), (ablation, "sft")):
            c = find_check(record, SEEDS, f"{tuned}-{reference}", "emotion_p_opposite")
            if c is not None:
                out.append(f"- {describe_row(tuned, reference, 'emotion_p_opposite', c)} (pooled over seeds).")
        out.append("")
    return out


def _scorer_part(record: SweepRecord) -> list[str]:
    """The EPITOME scorer's held-out figures (macro-F1 with its bootstrap interval, the mean-level bias) next to the
    published ones."""
    out: list[str] = []
    scorer_rows = []
    for mechanism in ("ER", "IP", "EX"):
        figure = {
            k: record.metrics.get(f"scorer/{mechanism}/{k}")
            for k in ("accuracy", "macro_f1", "macro_f1_low", "macro_f1_high", "mean_level_bias")
        }
        published = [record.metrics.get(f"scorer/{mechanism}/published_{k}") for k in ("accuracy", "macro_f1")]
        if figure["accuracy"] is not None or figure["macro_f1"] is not None:
            interval = (
                f"[{num(figure['macro_f1_low'], 3)}, {num(figure['macro_f1_high'], 3)}]"
                if figure["macro_f1_low"] is not None
                else "n/a"
            )
            scorer_rows.append(
                [
                    mechanism,
                    num(figure["accuracy"], 3),
                    num(figure["macro_f1"], 3),
                    interval,
                    num(figure["mean_level_bias"], 3),
                    *[num(v, 3) for v in published],
                ]
            )
    if scorer_rows:
        out += [
            "### The EPITOME scorer behind diff-EPITOME",
            "",
            "Our MiniLM EPITOME classifier on its held-out test split, next to the published RoBERTa models "
            "(Sharma et al. 2020). Every diff-EPITOME number above is only as good as this scorer. The interval "
            "resamples the test pairs (bootstrap); the mean-level bias is our mean predicted level minus the mean "
            "true level on the test split (diff-EPITOME compares levels, so a shift moves it). docs/epitome_scorer.md "
            "has the variants tried.",
            "",
            markdown_table(
                [
                    "mechanism",
                    "accuracy",
                    "macro-F1",
                    "macro-F1 interval",
                    "mean-level bias",
                    "published accuracy",
                    "published macro-F1",
                ],
                scorer_rows,
            ),
            "",
        ]
    return out
