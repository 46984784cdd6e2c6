"""MMLU through the hub task when the hub answers, the configured offline fallback when it does not."""

from __future__ import annotations

import pytest

from empo_kedro.evaluation import mmlu_source
from empo_kedro.evaluation.mmlu_source import hub_reachable, mmlu_run_settings

PAPER = {
    "tasks": ["mmlu"],
    "num_fewshot": 5,
    "batch_size": 16,
    "limit": None,
    "offline_fallback": {"tasks": "local", "num_fewshot": 0},
}


def test_offline_the_fallback_runs_instead_of_the_hub_task(monkeypatch):
    monkeypatch.setattr(mmlu_source, "hub_reachable", lambda: False)
    assert mmlu_run_settings(PAPER) == {"tasks": "local", "num_fewshot": 0, "batch_size": 16, "limit": None}


def test_with_a_hub_the_hub_task_runs_as_configured(monkeypatch):
    monkeypatch.setattr(mmlu_source, "hub_reachable", lambda: True)
    assert mmlu_run_settings(PAPER) == {"tasks": ["mmlu"], "num_fewshot": 5, "batch_size": 16, "limit": None}


def test_without_a_fallback_or_with_the_local_task_nothing_is_probed(monkeypatch):
    def probe():
        raise AssertionError("the hub was probed")

    monkeypatch.setattr(mmlu_source, "hub_reachable", probe)
    no_fallback = {k: v for k, v in PAPER.items() if k != "offline_fallback"}
    assert mmlu_run_settings(no_fallback) == no_fallback
    assert mmlu_run_settings({**PAPER, "tasks": "local"})["tasks"] == "local"


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_an_offline_switch_means_unreachable_without_a_request(monkeypatch, variable):
    for name in mmlu_source.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "1")
    monkeypatch.setattr(mmlu_source.urllib.request, "urlopen", lambda *a, **k: pytest.fail("a request was made"))
    assert hub_reachable() is False


def test_an_unanswered_endpoint_is_unreachable(monkeypatch):
    for name in mmlu_source.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    assert hub_reachable(timeout_s=2.0) is False
