# Two commands for a fresh machine: `make run` (set up, then the whole EmPO chain on the embedded default)
# and `make test` (set up, then ruff and the whole test suite). Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is installed first, from TORCH_INDEX when set. On Linux, PyPI's torch==2.13.0 is a CUDA build (GBs of
# nvidia-* wheels): for the CPU wheel use TORCH_INDEX=https://download.pytorch.org/whl/cpu; for a CUDA one, that
# CUDA's index (e.g. .../whl/cu130). Empty (the default) takes what pip's configured index offers: on the project's
# own machines that is a local mirror holding the CPU wheel.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
KEDRO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup run test lint ui viz bench bench-gpu clean-outputs sweep-setup sweep results serve chat export

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

setup: $(STAMP)

run: setup
	$(BIN)/kedro run $(KEDRO_ARGS)

# Lint first (seconds; [tool.ruff] in pyproject.toml): a lint error stops `make test` before pytest starts.
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: setup
	$(BIN)/python -m empo_kedro.tracking.experiment --host 127.0.0.1 --port 5000
	$(BIN)/kedro mlflow ui --host 127.0.0.1

# The registered chat model over HTTP on loopback (mlflow models serve, this environment). MODEL=empo-sft,
# ALIAS=<alias> or VERSION=<n> pick another; without a `champion` (the sweep's choice) the newest version serves.
MODEL ?= empo-dpo
ALIAS ?= champion
VERSION ?=
PORT ?= 5001
serve: setup
	$(BIN)/empo-kedro serve --model $(MODEL) --alias $(ALIAS) $(if $(VERSION),--version $(VERSION)) --port $(PORT)

# A terminal chat with the project's models: CHAT_ARGS="--compare" (base, SFT, DPO side by side), "--variant sft".
CHAT_ARGS ?=
chat: setup
	$(BIN)/empo-kedro chat $(CHAT_ARGS)

# Merged safetensors model (+ GGUF) of SFT+DPO under <data_root>/06_models/export (data/ by default).
export: setup
	$(BIN)/kedro run --pipeline=export $(KEDRO_ARGS)

# DPO sweep (conf/base/parameters_sweep.yml; KEDRO_ARGS="--env shared" for the real grid on ../shared).
# sweep-setup once (dialogues, SFT, EPITOME scorer); an interrupted sweep continues where it stopped.
sweep-setup: setup
	$(BIN)/kedro run --pipeline=sweep_setup $(KEDRO_ARGS)

sweep: setup
	$(BIN)/kedro run --pipeline=sweep $(KEDRO_ARGS)

# results.md and its plot from the MLflow runs of the newest finished sweep of this environment, written to the
# environment's results folder: data/08_reporting/results/ by default; docs/ (committed) only with
# KEDRO_ARGS="--env shared". Another sweep: KEDRO_ARGS="--env shared --params results.sweep_run_id=<run id>".
results: setup
	$(BIN)/kedro run --pipeline=results $(KEDRO_ARGS)

viz: setup
	$(BIN)/kedro viz run --host 127.0.0.1 --no-browser

# Speed of the project's training/generation paths against stock TRL (needs ../shared/data; long on 2 cores;
# BENCH_ARGS="--quick" is a smoke run).
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/training_speed.py $(BENCH_ARGS)

# The paper's scale on GPUs (benchmarks/paper_scale.py; README "Paper scale"): DPO at r=1024 on a random-weight
# zephyr-7b on one GPU, then DDP and (with deepspeed installed) ZeRO-2 over all GPUs when there is more than one;
# vLLM vs transformers generation (pip install '.[vllm]'). JSON in data/08_reporting/benchmarks/. Stops without CUDA.
BENCH_GPU_ARGS ?=
bench-gpu: setup
	$(BIN)/python benchmarks/paper_scale.py $(BENCH_GPU_ARGS)
	@gpus=$$($(BIN)/python -c "import torch; print(torch.cuda.device_count())"); \
	if [ "$$gpus" -gt 1 ]; then \
	  $(BIN)/accelerate launch --config_file conf/accelerate/multi_gpu_ddp.yaml --num_processes $$gpus \
	    benchmarks/paper_scale.py --skip-generation --label ddp $(BENCH_GPU_ARGS) || exit 1; \
	  if $(BIN)/python -c "import deepspeed" 2>/dev/null; then \
	    $(BIN)/accelerate launch --config_file conf/accelerate/deepspeed_zero2.yaml --num_processes $$gpus \
	      benchmarks/paper_scale.py --skip-generation --label zero2 $(BENCH_GPU_ARGS) || exit 1; \
	  else echo "deepspeed is not installed: ZeRO-2 skipped (pip install deepspeed)"; fi; \
	else echo "one GPU: DDP and ZeRO-2 need more than one, skipped"; fi

# Every environment's outputs (data/ and data/<env>/, e.g. data/shared/) and the base-model cache; the sample
# inputs in data/01_raw and the .gitkeep files stay.
clean-outputs:
	find data -mindepth 2 -not -path 'data/01_raw/*' -not -name .gitkeep -delete
