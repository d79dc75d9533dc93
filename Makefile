# The whole user interface of the project: `make help` lists the targets.
ENV    ?= CartPole-v1
SEED   ?= 1
PORT   ?= 8000
PYTHON ?= python3
PY     := .venv/bin/python
SINGLE ?=

VENV_STAMP := .venv/.installed
NODE_STAMP := node_modules/.installed
KERNEL_DIR := build/kernels/$(ENV)

.DEFAULT_GOAL := all
.PHONY: all help setup train compile-kernel bundle serve test lint bench bench-train clean

all: train compile-kernel bundle ## setup + train + compile-kernel + bundle for ENV (default CartPole-v1)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(VENV_STAMP) $(NODE_STAMP) ## create .venv from pyproject.toml and node_modules from package-lock.json (only when stale)

$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

train: setup ## train PPO on ENV (writes build/models/ENV; PUBLISH=1 also updates models/ENV)
	$(PY) -m train --env $(ENV) --seed $(SEED) $(if $(PUBLISH),--publish,)

compile-kernel: setup ## compile the newest policy for ENV to wasm + WebGPU kernels in build/kernels/ENV
	$(PY) -m tiny_infer compile --env $(ENV) --out $(KERNEL_DIR)

# the kernel is rebuilt for `make bundle` whenever a policy of ENV is newer than it
$(KERNEL_DIR)/manifest.json: $(wildcard build/models/$(ENV)/policy.* models/$(ENV)/policy.*) | setup
	$(PY) -m tiny_infer compile --env $(ENV) --out $(KERNEL_DIR)

bundle: setup $(KERNEL_DIR)/manifest.json ## bundle the page into public/ (SINGLE=1: one self-contained HTML file)
	node bundle/build.mjs --kernel $(KERNEL_DIR) --out public $(if $(SINGLE),--single,)

serve: ## serve public/ on http://localhost:$(PORT)/
	@test -f public/index.html || $(MAKE) --no-print-directory bundle
	node bundle/serve.mjs public $(PORT)

test: setup $(KERNEL_DIR)/manifest.json ## run the test suite (browser tests need Chromium; CHROME=/path picks one)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: setup ## ruff on Python
	$(PY) -m ruff check .

bench: setup ## measure sizes, kernel latency, page load and training speed against peers (bench/results.json)
	$(PY) -m bench

bench-train: setup ## the training race alone: time to solve CartPole-v1, ours vs Stable-Baselines3
	$(PY) -m bench --only train

clean: ## remove what the build made (build/, public/ assets, runs/, caches); keeps .venv and node_modules
	rm -rf build runs public/index.html public/*.html public/assets tests/artifacts .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
