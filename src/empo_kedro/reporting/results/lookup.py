"""Finding one CI or one length / seed check of a sweep record, so each section asks for it by name."""

from __future__ import annotations

from collections.abc import Sequence

from empo_kedro.reporting.results.wording import LABELS, describe_difference
from empo_kedro.tracking.sweep_results import SweepRecord

# Kinds of the length and seed checks on the parent run (``final_<kind>/<contrast>/<metric>/<bound>``).
ADJUSTED, SEEDS, LC_WIN_RATE = "length_adjusted", "seeds", "lc_win_rate"
DPO_VARIANT = "dpo"


def find_ci(record: SweepRecord, contrast: str, metric: str) -> dict | None:
    rows = (
        record.cis.loc[(record.cis["contrast"] == contrast) & (record.cis["metric"] == metric)]
        if len(record.cis)
        else record.cis
    )
    return rows.iloc[0].to_dict() if len(rows) else None


def find_check(record: SweepRecord, kind: str, contrast: str, metric: str) -> dict | None:
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


def ci_sentence(record: SweepRecord, tuned: str, reference: str, metric: str) -> str:
    ci = find_ci(record, f"{tuned}-{reference}", metric)
    if ci is None:
        return f"{tuned} - {reference} {LABELS.get(metric, metric)}: not measured"
    return describe_difference(tuned, reference, metric, ci["diff"], ci["low"], ci["high"])


def seed_numbers(record: SweepRecord, variant: str, metric: str) -> tuple[float | None, float | None, int]:
    metrics = record.metrics
    return (
        metrics.get(f"seeds/{variant}/{metric}/mean"),
        metrics.get(f"seeds/{variant}/{metric}/sd"),
        int(metrics.get(f"seeds/{variant}/n", 1)),
    )


def seed_counts(record: SweepRecord, groups: Sequence[str]) -> list[str]:
    return [f"{group}: {int(record.metrics[f'seeds/{group}/n'])}" for group in groups]
