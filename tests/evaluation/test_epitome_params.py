"""The EPITOME scorer's typed parameters: the YAML holds every default, unknown keys are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from empo_kedro.evaluation.epitome.params import EpitomeScorerParams

REPO_ROOT = Path(__file__).resolve().parents[2]


def _yaml_scorer_block() -> dict:
    params = yaml.safe_load((REPO_ROOT / "conf" / "base" / "parameters_evaluation.yml").read_text())
    return params["evaluation"]["epitome"]["scorer"]


def test_yaml_holds_every_field_with_the_dataclass_default():
    """The dataclass may not carry a default the YAML lacks (or one that differs from it)."""
    block = _yaml_scorer_block()
    defaults = EpitomeScorerParams().as_dict()
    assert sorted(block) == sorted(defaults)
    assert {key: block[key] for key in defaults} == defaults
    assert EpitomeScorerParams.from_mapping(block) == EpitomeScorerParams()


def test_unknown_key_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown EPITOME scorer params \['learning_rat'\]; known keys: .*'epochs'"):
        EpitomeScorerParams.from_mapping({"learning_rat": 1e-3})


@pytest.mark.parametrize(
    ("params", "named"), [({"pooling": "max"}, "pooling"), ({"max_length": 20, "max_seeker_tokens": 16}, "max_length")]
)
def test_bad_values_are_named(params, named):
    with pytest.raises(ValueError, match=named):
        EpitomeScorerParams.from_mapping(params)


def test_sequences_come_back_as_lists():
    params = EpitomeScorerParams.from_mapping({"mechanisms": ["ER"], "logit_bias_grid": [0.0, 1.0]})
    assert params.as_dict()["mechanisms"] == ["ER"] and params.as_dict()["logit_bias_grid"] == [0.0, 1.0]
    assert dataclasses.replace(params, epochs=2).epochs == 2
