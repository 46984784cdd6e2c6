"""The EPITOME framework's fixed vocabulary: its three empathy mechanisms and the levels each is rated on.

Emotional Reactions, Interpretations and Explorations (Sharma et al., 2020), each rated 0 (none), 1 (weak) or
2 (strong). Every module that reads, scores or compares EPITOME levels uses these names.
"""

from __future__ import annotations

MECHANISMS: tuple[str, ...] = ("ER", "IP", "EX")
LEVELS: tuple[int, ...] = (0, 1, 2)
NUM_LEVELS = len(LEVELS)
