"""The document's "Answer": the issue's targets and the length / seed / mechanism lines, each from its CI."""

from __future__ import annotations

from empo_kedro.reporting.results.lookup import (
    ADJUSTED,
    DPO_VARIANT,
    LC_WIN_RATE,
    SEEDS,
    ci_sentence,
    find_check,
    find_ci,
)
from empo_kedro.reporting.results.wording import LABELS, describe_row, describe_win_rate, num
from empo_kedro.tracking.sweep_results import SweepRecord


def targets(record: SweepRecord, ablation: str) -> list[str]:
    """The issue's targets, each met / not met from the CIs (the criterion stated beside it)."""
    lines = []
    diff = find_ci(record, "dpo-sft", "diff_mean")
    if diff is not None:
        met = diff["high"] < 0
        lines.append(
            f"- DPO better than SFT on mean diff-EPITOME, CI excluding 0: **{'met' if met else 'not met'}** "
            f"({ci_sentence(record, 'dpo', 'sft', 'diff_mean')})."
        )
    for metric, worse_side in (("kl_to_base", "low"), ("mmlu_correct", "high")):
        ci = find_ci(record, "dpo-sft", metric)
        label = LABELS[metric]
        if ci is None:
            lines.append(f"- {label} no worse than SFT's: **not measured** in this run.")
            continue
        worse = ci["low"] > 0 if worse_side == "low" else ci["high"] < 0
        lines.append(
            f"- {label} no worse than SFT's (not detectably worse: the CI is not entirely on the worse "
            f"side): **{'not met' if worse else 'met'}** ({ci_sentence(record, 'dpo', 'sft', metric)})."
        )
    versus = find_ci(record, f"dpo-{ablation}", "diff_mean")
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
            f"({ci_sentence(record, 'dpo', ablation, 'diff_mean')})."
        )
    return lines


def check_sentences(record: SweepRecord, ablation: str) -> list[str]:
    """The answer's lines on length, seeds, the mechanism and power, each computed from its CI."""
    lines = []
    n_seeds = int(record.metrics.get(f"seeds/{DPO_VARIANT}/n", 1))
    pooled = find_check(record, SEEDS, f"{DPO_VARIANT}-sft", "diff_mean")
    if pooled is not None:
        lines.append(
            f"- Pooled over {n_seeds} training seed(s) (prompts and seeds resampled): "
            f"{describe_row('dpo', 'sft', 'diff_mean', pooled)}."
        )
    adjusted = find_check(record, ADJUSTED, "dpo-sft", "diff_mean")
    if adjusted is not None:
        lines.append(
            "- At equal reply length (length-adjusted, OLS per reply: metric ~ 1 + is_tuned + "
            f"length_words): {describe_row('dpo', 'sft', 'diff_mean', adjusted)}."
        )
    matched = find_ci(record, "dpo-sft_len", "diff_mean")
    if matched is not None:
        lines.append(
            "- Against SFT decoding to DPO's reply length (`sft_len`): "
            f"{describe_row('dpo', 'sft_len', 'diff_mean', matched)}."
        )
    lc = find_check(record, LC_WIN_RATE, "dpo-sft", "diff_mean")
    if lc is not None:
        lines.append(f"- {describe_win_rate('dpo', 'sft', lc['diff'], lc['low'], lc['high'], lc.get('win_rate'))}.")
    opposite = find_check(record, SEEDS, f"dpo-{ablation}", "emotion_p_opposite")
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
    versus = find_check(record, SEEDS, f"dpo-{ablation}", "diff_mean")
    if versus is not None:
        half = (versus["high"] - versus["low"]) / 2
        lines.append(
            f"- Detectable difference: with {num(record.final_artifact.get('n_prompts'), 0)} test prompts "
            f"and {n_seeds} seed(s) per arm, the 95% CI of DPO - DPO({ablation.removeprefix('dpo_')}) mean "
            f"diff-EPITOME has a half-width of {num(half)}: smaller true differences than about that "
            f"cannot be told from 0 by this design."
        )
    return lines
