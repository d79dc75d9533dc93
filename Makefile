# The whole user interface of the project: `make help` lists the targets.
# ENV given (command line or environment): `make bundle` builds that env's page only; else every env with a policy
ENV_GIVEN := $(filter command line environment,$(origin ENV))
ENV    ?= CartPole-v1
SEED   ?= 1
PORT   ?= 8000
PYTHON ?= python3
PY     := .venv/bin/python
SINGLE ?=

BIOME  := node_modules/.bin/biome

VENV_STAMP := .venv/.installed
NODE_STAMP := node_modules/.installed
KERNEL_DIR := build/kernels/$(ENV)
# every env with a policy: one the user trained (build/models/<env>) or a shipped one (models/<env>); which of the
# two compile reads is the newest-model rule (rl_web_agent/policy/checkpoint.resolve_model_dir, docs/design.md)
# (namespaced ids such as ALE/Pong-v5 have a folder per part)
POLICY_ENVS := $(sort $(patsubst build/models/%/policy.json,%,$(wildcard build/models/*/policy.json \
                                                                       build/models/*/*/policy.json)) \
                      $(patsubst models/%/policy.json,%,$(wildcard models/*/policy.json models/*/*/policy.json)))
BUNDLE_ENVS := $(if $(ENV_GIVEN),$(ENV),$(POLICY_ENVS))

.DEFAULT_GOAL := all
.PHONY: all help setup train compile-kernel bundle serve test test-fast lint format bench bench-train clean page engines

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
	$(PY) -m rl_web_agent train --env $(ENV) --seed $(SEED) $(if $(PUBLISH),--publish,)

compile-kernel: setup ## compile the newest policy for ENV (and its training snapshots) to wasm + WebGPU kernels in build/kernels/ENV
	$(PY) -m rl_web_agent compile --env $(ENV) --out $(KERNEL_DIR) --snapshots

# an env's kernel is (re)compiled for `make bundle` when missing or older than either of that env's policies
# (dependency tracking only: compile picks one by the newest-model rule) or the compiler (the bundler refuses a
# kernel whose manifest an older compile wrote): the compiler's files, the checkpoint format's it reads the policy
# with, and the pure-Python forward pass it checks policy.weights.json with
KERNEL_SOURCES := $(wildcard rl_web_agent/compiler/*.py rl_web_agent/compiler/*.js rl_web_agent/policy/*.py \
                             rl_web_agent/runtime_py/*.py)
.SECONDEXPANSION:
build/kernels/%/manifest.json: $$(wildcard build/models/$$*/policy.* models/$$*/policy.*) $(KERNEL_SOURCES) | setup
	$(PY) -m rl_web_agent compile --env $* --out build/kernels/$* --snapshots

# The Box2D engine (Gymnasium's LunarLander and BipedalWalker): pybox2d's Box2D 2.3.10 sources
# (third_party/box2d/) and the C API over them (engines/box2d/) compiled to wasm by zig from PyPI (ziglang, in
# the venv), one object per source so an edit rebuilds one file. No FMA contraction (-ffp-contract=off) and
# glibc's sinf/cosf (engines/box2d/trig.c): the float results are the reference platform's (README).
ZIG         := nice $(PY) -m ziglang
BOX2D_WASM  := build/engines/box2d.wasm
ALE_WASM    := build/engines/ale.wasm
BOX2D_OBJ   := build/engines/box2d
BOX2D_SRCS  := $(wildcard third_party/box2d/Box2D/*/*.cpp third_party/box2d/Box2D/*/*/*.cpp)
BOX2D_HDRS  := $(wildcard third_party/box2d/Box2D/*.h third_party/box2d/Box2D/*/*.h third_party/box2d/Box2D/*/*/*.h)
BOX2D_OBJS  := $(patsubst third_party/box2d/Box2D/%.cpp,$(BOX2D_OBJ)/%.o,$(BOX2D_SRCS)) \
               $(BOX2D_OBJ)/api.o $(BOX2D_OBJ)/trig.o
BOX2D_FLAGS := -target wasm32-wasi -O2 -ffp-contract=off -DNDEBUG
BOX2D_CXX   := $(BOX2D_FLAGS) -fno-exceptions -fno-rtti -Ithird_party/box2d
# the envs whose pages ship the Box2D engine (spec.engine 'box2d')
BOX2D_ENVS  := LunarLander-v3 LunarLanderContinuous-v3 BipedalWalker-v3

engines: $(BOX2D_WASM) $(ALE_WASM) ## build the engines that are compiled here (Box2D, ALE: to wasm with zig; incremental)

$(BOX2D_OBJ)/%.o: third_party/box2d/Box2D/%.cpp $(BOX2D_HDRS) | $(VENV_STAMP)
	@mkdir -p $(@D)
	$(ZIG) c++ $(BOX2D_CXX) -c $< -o $@

# b2Log's vprintf goes to api.cpp's b2_log_sink: libc's printf (and its WASI file calls) stays out
$(BOX2D_OBJ)/Common/b2Settings.o: BOX2D_CXX += -Dvprintf=b2_log_sink

$(BOX2D_OBJ)/api.o: engines/box2d/api.cpp $(BOX2D_HDRS) | $(VENV_STAMP)
	@mkdir -p $(@D)
	$(ZIG) c++ $(BOX2D_CXX) -c $< -o $@

$(BOX2D_OBJ)/trig.o: engines/box2d/trig.c | $(VENV_STAMP)
	@mkdir -p $(@D)
	$(ZIG) cc $(BOX2D_FLAGS) -fno-builtin -c $< -o $@

# a reactor (no main; exports only the API's export_name functions), stripped, with no C++ runtime (api.cpp
# has the little Box2D needs of it), then binaryen's wasm-opt -O3 (npm; IEEE float semantics kept: no
# --fast-math), 5% fewer gzipped bytes; written whole or not at all
WASM_OPT := node_modules/.bin/wasm-opt
WASM_FEATURES := --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
                 --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types
$(BOX2D_WASM): $(BOX2D_OBJS) | $(NODE_STAMP)
	$(ZIG) c++ $(BOX2D_CXX) -mexec-model=reactor -nostdlib++ -s $(BOX2D_OBJS) -o $@.linked
	nice $(WASM_OPT) -O3 $(WASM_FEATURES) $@.linked -o $@.tmp
	rm $@.linked
	mv $@.tmp $@

# The Atari engine: the Arcade Learning Environment's C++ from ale-py's PyPI sdist (the venv's version, pinned
# by hash; fetched once) with engines/ale/api.cpp, compiled to wasm by zig and optimised by wasm-opt
# (engines/ale/build.py; one object per source, rebuilt when stale). ALE is GPL-2.0: README, "Atari".
$(ALE_WASM): engines/ale/build.py engines/ale/api.cpp $(wildcard engines/ale/include/*) | $(VENV_STAMP) $(NODE_STAMP)
	$(PY) engines/ale/build.py --out $@

bundle: setup $(foreach e,$(BUNDLE_ENVS),build/kernels/$(e)/manifest.json) \
        $(if $(filter $(BOX2D_ENVS),$(BUNDLE_ENVS)),$(BOX2D_WASM)) $(if $(filter ALE/%,$(BUNDLE_ENVS)),$(ALE_WASM)) ## pages + gallery in public/ for every env with a policy (ENV=X: one; SINGLE=1: public/ENV.html files)
	node web/build/build.mjs --out public $(foreach e,$(BUNDLE_ENVS),--env $(e)) $(if $(SINGLE),--single,) \
	  $(if $(ENV_GIVEN),,--ported-only)

serve: ## serve public/ on http://localhost:$(PORT)/
	@test -f public/index.html || $(MAKE) --no-print-directory bundle
	node web/serve.mjs public $(PORT)

# the tests' one built site reuses every env's current kernel (tests/pages.py): compiled here when stale, as for bundle
test: lint $(foreach e,$(POLICY_ENVS),build/kernels/$(e)/manifest.json) $(BOX2D_WASM) $(ALE_WASM) ## lint, then the whole test suite (browser tests need Chromium; CHROME=/path picks one)
	$(PY) -m pytest -q

# the markers are defined in pyproject.toml; tests/conftest.py adds `browser` (and `compile` for the built site)
test-fast: lint $(BOX2D_WASM) $(ALE_WASM) ## the edit-run loop: lint, then the tests that need no browser, no compile and no training (< 1 min)
	$(PY) -m pytest -q -m "not browser and not compile and not train and not slow"

lint: setup ## formatting and lint rules: Python (ruff format --check, ruff check), JS (biome ci: biome.jsonc)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(BIOME) ci .

format: setup ## format the Python and JS code as `make lint` wants it (ruff format, biome format)
	$(PY) -m ruff format .
	$(BIOME) format --write .

bench: setup ## measure sizes, kernel latency, page load and training speed against peers (bench/results.json)
	$(PY) -m bench

bench-train: setup ## the training race alone: time to solve each classic-control env, ours vs Stable-Baselines3
	$(PY) -m bench --only train

# MODEL: an SB3 model zip, or a folder holding one (a Hugging Face hub download, an RL Zoo run: the env id and
# VecNormalize statistics come from its files; VECNORMALIZE=vecnormalize.pkl otherwise), or a CleanRL
# .cleanrl_model (ENV required; OBS_NORM=stats.npz if trained with observation normalisation)
page: setup ## import MODEL=path (SB3 .zip or its folder, or CleanRL; ENV=id) into build/models/ENV, compile, bundle the pages
	@test -n "$(MODEL)" || { echo "make page: pass MODEL=path/to/model.zip (SB3, or its folder) or MODEL=x.cleanrl_model ENV=id" >&2; exit 2; }
	$(PY) -m rl_web_agent import $(if $(or $(filter %.zip,$(MODEL)),$(wildcard $(MODEL)/.)),sb3,cleanrl) "$(MODEL)" \
	  $(if $(ENV_GIVEN),--env $(ENV)) \
	  $(if $(VECNORMALIZE),--vecnormalize "$(VECNORMALIZE)") $(if $(OBS_NORM),--obs-norm "$(OBS_NORM)")
	$(MAKE) --no-print-directory bundle

clean: ## remove what the build made (build/, public/ assets, runs/, caches); keeps .venv and node_modules
	rm -rf build runs public/index.html public/*.html public/assets public/.rl-web-build.json tests/artifacts \
	  .pytest_cache .ruff_cache $(patsubst %/index.html,%,$(wildcard public/*/index.html public/*/*/index.html))
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
