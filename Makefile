# Two commands for a fresh machine: `make run` (set up, then the whole EmPO chain on the embedded default)
# and `make test` (set up, then the whole test suite). Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip takes torch 2.13.0's CPU wheel from this machine's disk; installing it first stops a CUDA build being pulled.
TORCH_SPEC ?= torch==2.13.0
KEDRO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup run test ui viz bench clean-outputs sweep-setup sweep results

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

setup: $(STAMP)

run: setup
	$(BIN)/kedro run $(KEDRO_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: setup
	$(BIN)/kedro mlflow ui --host 127.0.0.1

# DPO sweep (conf/base/parameters_sweep.yml; KEDRO_ARGS="--env shared" for the real grid on ../shared).
# sweep-setup once (dialogues, SFT, EPITOME scorer); an interrupted sweep continues where it stopped.
sweep-setup: setup
	$(BIN)/kedro run --pipeline=sweep_setup $(KEDRO_ARGS)

sweep: setup
	$(BIN)/kedro run --pipeline=sweep $(KEDRO_ARGS)

# docs/results.md (and docs/results_sweep.png) from the MLflow runs of the newest finished sweep.
results: setup
	$(BIN)/kedro run --pipeline=results $(KEDRO_ARGS)

viz: setup
	$(BIN)/kedro viz run --host 127.0.0.1 --no-browser

# Speed of the project's training/generation paths against the stock stack (needs ../shared/data; ~15 min on 2 cores).
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/training_speed.py $(BENCH_ARGS)

clean-outputs:
	find data -mindepth 2 -not -path 'data/01_raw/*' -not -name .gitkeep -delete
