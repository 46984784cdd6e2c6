"""Opposite emotions on Plutchik's wheel, loaded from ``conf/`` and validated before any pair is drawn.

EmPO's rejected completions come from conversations labelled with the *opposite* emotion. The maps are
data (``parameters_emotions.yml``); this module only checks them and answers "which emotion is opposite".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from empo_kedro.errors import UserFacingError

PLUTCHIK_STRATEGIES = ("plutchik_basic", "plutchik_extended")
RANDOM_STRATEGY = "random"
STRATEGIES = (*PLUTCHIK_STRATEGIES, RANDOM_STRATEGY)


class EmotionMapError(UserFacingError, ValueError):
    """An opposite-emotion map is inconsistent (missing, self or asymmetric opposite, unknown label)."""


@dataclass(frozen=True)
class EmotionMap:
    """A validated, symmetric map from an emotion label to its opposite, with a reason per entry."""

    name: str
    opposites: Mapping[str, str]
    reasons: Mapping[str, str]
    unmapped: frozenset[str]

    def opposite(self, label: str) -> str | None:
        """The opposite label, or None when the label is explicitly unmapped."""
        return self.opposites.get(label)

    @property
    def is_random(self) -> bool:
        """The ``random`` ablation: any other emotion may give the rejected turn."""
        return self.name == RANDOM_STRATEGY


#: What the data_engineering pipeline passes on for the ``random`` ablation (Kedro cannot pass None between nodes).
RANDOM_REJECTION = EmotionMap(name=RANDOM_STRATEGY, opposites={}, reasons={}, unmapped=frozenset())


def load_emotion_map(
    strategy: str, emotion_maps: Mapping[str, Mapping], known_labels: Iterable[str]
) -> EmotionMap | None:
    """Validate and return the map for a Plutchik strategy; None for the ``random`` ablation."""
    if strategy == RANDOM_STRATEGY:
        return None
    if strategy not in emotion_maps:
        raise EmotionMapError(
            f"Unknown rejected-turn strategy '{strategy}': expected one of {sorted({*emotion_maps, RANDOM_STRATEGY})}"
        )
    return validate_emotion_map(strategy, emotion_maps[strategy], known_labels)


def validate_emotion_map(name: str, spec: Mapping, known_labels: Iterable[str]) -> EmotionMap:
    """Check that every entry names known labels, a non-self opposite and a reason, and that the map is symmetric."""
    known = set(known_labels)
    entries = spec.get("opposites") or {}
    unmapped = frozenset(spec.get("unmapped") or [])
    opposites: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for label, entry in entries.items():
        where = f"emotion map '{name}', entry '{label}'"
        if not isinstance(entry, Mapping) or not entry.get("opposite"):
            raise EmotionMapError(f"{where}: missing 'opposite'")
        if not str(entry.get("reason", "")).strip():
            raise EmotionMapError(f"{where}: missing 'reason'")
        opposite = entry["opposite"]
        for value in (label, opposite):
            if value not in known:
                raise EmotionMapError(f"{where}: unknown emotion label '{value}' (known: {sorted(known)})")
        if opposite == label:
            raise EmotionMapError(f"{where}: a label cannot be its own opposite")
        opposites[label] = opposite
        reasons[label] = entry["reason"]
    for label, opposite in opposites.items():
        if opposites.get(opposite) != label:
            raise EmotionMapError(
                f"emotion map '{name}' is not symmetric: '{label}' -> '{opposite}' but "
                f"'{opposite}' -> '{opposites.get(opposite)}'"
            )
    both = unmapped & opposites.keys()
    if both:
        raise EmotionMapError(f"emotion map '{name}': labels both mapped and unmapped: {sorted(both)}")
    unknown_unmapped = unmapped - known
    if unknown_unmapped:
        raise EmotionMapError(f"emotion map '{name}': unknown labels under 'unmapped': {sorted(unknown_unmapped)}")
    return EmotionMap(name=name, opposites=opposites, reasons=reasons, unmapped=unmapped)


def check_coverage(emotion_map: EmotionMap, labels_in_data: Iterable[str]) -> None:
    """Every label in the data must be mapped or explicitly listed as unmapped."""
    uncovered = sorted(set(labels_in_data) - emotion_map.opposites.keys() - emotion_map.unmapped)
    if uncovered:
        raise EmotionMapError(
            f"emotion map '{emotion_map.name}' neither maps nor lists as unmapped these labels of the data: "
            f"{uncovered}"
        )


def opposites_for(
    strategy: str, emotion_maps: Mapping[str, Mapping], known_labels: Iterable[str], fallback: str
) -> dict[str, str]:
    """label -> opposite in the map a strategy's preference pairs use (the ``fallback`` map for ``random``, which
    has none): what the emotion-fit metric "mass on the opposite emotion" reads."""
    labels = list(known_labels)
    emotion_map = load_emotion_map(strategy, emotion_maps, labels) or load_emotion_map(fallback, emotion_maps, labels)
    if emotion_map is None:
        raise EmotionMapError(f"The fallback opposite map '{fallback}' must be a Plutchik map, not '{fallback}'")
    return dict(emotion_map.opposites)
