#!/usr/bin/env python
"""Meta-World side by side: my_policy vs ACT vs Diffusion on the same scripted demonstrations and budget.

For each task, one dataset of scripted-expert demonstrations (`record_demos.py`); every policy is trained on it
with `lerobot-train` (same steps, batch size, seed) and evaluated with `lerobot-eval` (same episodes and seed).
my_policy's checkpoints are evaluated twice, with their default Euler steps and in one-step mode, and one more
multi-task, language-conditioned my_policy is trained on all tasks' demonstrations and evaluated on each task.

Upstream defaults everywhere except what this machine needs, the same for every policy: `device=cpu`, and no
downloaded backbone weights (`pretrained_backbone_weights=null`; ACT and Diffusion default to ImageNet weights
fetched at run time, my_policy's default is already none).

Each (policy, task) cell trains, evaluates and then commits its numbers to `benchmarks/results/metaworld/`; a cell
whose file holds the same settings is skipped. Cells are independent (each trains from the demonstrations, which
are deterministic by seed), so the grid can be run in pieces, on different days or machines; `report_metaworld.py`
writes the results from the committed cells.

    python -m benchmarks.metaworld.run_metaworld --policies act --tasks reach-v3   # one cell
    python -m benchmarks.metaworld.run_metaworld            # every cell not done yet, in order; rerun to continue
    python -m benchmarks.metaworld.run_metaworld demos      # only the demonstrations, for every task

An ablation trains my_policy with other options into its own folders, on the same demonstrations and budget, and
is evaluated with the default step count only:

    python -m benchmarks.metaworld.run_metaworld --policies my_policy --tasks push-v3 \
        --my-policy-options="--policy.resize_shape=[224,224]" \
        --cells benchmarks/results/metaworld_ablations/resize224 --out outputs/bench_metaworld_resize224

The equal-training-time cells (`--policies my_policy_equal_time`, not part of the default grid) train my_policy for
as many steps as it makes in the time ACT's cell on the task trained, once both cells are committed; the rest of
the budget (demonstrations, batch, seeds, evaluation) is the grid's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import machine
from benchmarks.metaworld.grid import EQUAL_TIME, MULTITASK, ONE_STEP, POLICIES, Grid, add_grid_arguments
from lerobot.utils.constants import OBS_ENV_STATE

# Policies evaluated with jemalloc set to keep the memory it frees (`machine.with_jemalloc`). Diffusion's 100
# denoising passes through its 263 M-parameter U-Net free and re-allocate the same large buffers each pass; with any
# finite decay jemalloc hands them back to the kernel and faults them in again (19 M page faults a chunk, more
# system time than user time): a chunk took 29.5 s instead of 11.2 s, a failed drawer-open-v3 episode 9.4 min
# instead of 4.3 min, with identical rewards and ~3 GB after an episode, then only its video frames (~0.4 GB an
# episode; AMD EPYC, 2 cores). my_policy's evaluation grows without bound that way (`with_jemalloc`), so the other
# policies keep the default decay.
EVAL_KEEPS_FREED_MEMORY = {"diffusion"}


def task_demos(grid: Grid, task: str) -> Path:
    """The task's demonstrations, recorded once, and the expert's report (`Grid.expert_report`)."""
    root = grid.dataset_root(task)
    info = root / "meta" / "info.json"
    # Demonstrations recorded before they carried the environment state (same episodes) are recorded again.
    if not info.exists() or OBS_ENV_STATE not in json.loads(info.read_text())["features"]:
        machine.run_logged(
            [
                sys.executable,
                "-m",
                "benchmarks.metaworld.record_demos",
                f"--tasks={task}",
                f"--demos-per-task={grid.demos_per_task}",
                f"--root={root}",
                f"--seed={grid.demo_seed}",
                f"--report={grid.expert_report(task)}",
            ],
            grid.out / "demos.log",
        )
    return root


def all_demos(grid: Grid) -> Path:
    """Every task's demonstrations in one dataset, for the multi-task run."""
    merged = grid.data / f"all-{grid.demos_per_task}"
    if not (merged / "meta" / "info.json").exists():
        machine.aggregate_local_datasets([task_demos(grid, task) for task in grid.tasks], merged)
    return merged


def runs(grid: Grid) -> list[tuple[str, str, list[str], str]]:
    """(name, policy type, extra options, task) of every training run asked for, single-task ones first (the
    equal-time runs after the cells they take their budget from)."""
    mine = grid.my_policy_options
    single = [
        (name, policy_type, [*extra, *(mine if policy_type == "my_policy" else [])], task)
        for name, (policy_type, extra) in POLICIES.items()
        for task in grid.tasks
        if name in grid.policies
    ]
    equal_time = [(EQUAL_TIME, "my_policy", mine, task) for task in grid.tasks if EQUAL_TIME in grid.policies]
    return [
        *single,
        *equal_time,
        *([(MULTITASK, "my_policy", mine, "all")] if MULTITASK in grid.policies else []),
    ]


def train(grid: Grid, name: str, policy_type: str, extra: list[str], task: str) -> None:
    if (steps := grid.train_steps(name, task)) is None:
        raise SystemExit(
            f"{name} on {task} trains as long as ACT's cell did: run `python -m benchmarks.metaworld.run_metaworld "
            f"--policies act,my_policy --tasks {task}` first"
        )
    data = all_demos(grid) if task == "all" else task_demos(grid, task)
    train_dir = grid.run_dir(name, task) / "train"
    fresh = machine.lerobot_train_command(
        policy_type, data, train_dir, grid.batch_size, grid.seed, grid.num_workers, extra
    )
    options = [f"--save_freq={grid.save_freq}", "--log_freq=50"]
    machine.train_or_resume(
        fresh, train_dir, steps, grid.run_dir(name, task) / "train.log", options, keep_freed_memory=True
    )


def lerobot_eval(grid: Grid, name: str, task: str, eval_task: str, extra: list[str]) -> list[Path]:
    """`lerobot-eval` of the cell's checkpoint on one task, in runs of `eval_episodes_per_run` episodes; returns
    their output folders.

    lerobot-eval seeds episode i of a run from `--seed` + i, so the run starting at episode k gets `--seed` =
    eval seed + k: every cell sees the same starts however its episodes are split (and a multi-task checkpoint the
    same starts as the single-task cells). A finished run is kept when the evaluation is stopped, so an evaluation
    longer than a session (Diffusion fails an episode in ~7 min here) continues where it stopped."""
    checkpoint = machine.last_checkpoint(grid.trained_run(name, task) / "train")
    folders = []
    for first in range(0, grid.eval_episodes, grid.eval_episodes_per_run):
        episodes = min(grid.eval_episodes_per_run, grid.eval_episodes - first)
        seed = grid.eval_seed + first
        folder = (
            grid.run_dir(name, task) / "eval" / eval_task / f"episodes_{first:03d}-{first + episodes - 1:03d}"
        )
        env = ["--env.type=metaworld", f"--env.task={eval_task}"]
        command = machine.lerobot_eval_command(checkpoint, env, episodes, 1, seed, folder, extra)
        keep = name in EVAL_KEEPS_FREED_MEMORY
        wanted = {
            "episodes": episodes,
            "seed": seed,
            "checkpoint": str(checkpoint),
            "keeps_freed_memory": keep,
        }
        machine.run_unless_done(command, folder.with_suffix(".log"), folder, wanted, keep_freed_memory=keep)
        folders.append(folder)
    return folders


def episode_successes(info: dict) -> dict[str, list[bool]]:
    """Each episode's success per task from an `eval_info.json`; each task given to `--env.task` is its own task
    group."""
    return {t["task_group"]: t["metrics"]["successes"] for t in info["per_task"]}


def evaluate(grid: Grid, name: str, task: str, extra: list[str]) -> None:
    """Evaluate one cell's checkpoint on its task(s), then write the cell's numbers; `name` may differ from the
    trained run's (the one-step mode evaluates my_policy's checkpoint)."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class

    eval_tasks = grid.tasks if task == "all" else [task]
    eval_runs = [run for t in eval_tasks for run in lerobot_eval(grid, name, task, t, extra)]
    successes: dict[str, list[bool]] = {}
    for run in eval_runs:
        for t, episodes in episode_successes(json.loads((run / "eval_info.json").read_text())).items():
            successes.setdefault(t, []).extend(episodes)
    trained = grid.trained_run(name, task)
    checkpoint = machine.last_checkpoint(trained / "train")
    config = PreTrainedConfig.from_pretrained(checkpoint)
    policy = get_policy_class(config.type).from_pretrained(checkpoint)
    expert = {t: json.loads(grid.expert_report(t).read_text())["tasks"][t] for t in eval_tasks}
    cell = {
        "name": name,
        "task": task,
        "settings": grid.settings(task, name),
        "success_rate": {t: sum(episodes) / len(episodes) for t, episodes in successes.items()},
        "eval_episodes_per_run": grid.eval_episodes_per_run,
        "params": machine.trainable_params(policy),
        "num_inference_steps": 1 if name == ONE_STEP else getattr(config, "num_inference_steps", None),
        # The one-step cell reuses my_policy's training; its cost is counted there.
        "train_wall_s": 0.0
        if name == ONE_STEP
        else json.loads((trained / "train" / "wall_s.json").read_text())["wall_s"],
        "eval_wall_s": round(
            sum(json.loads((run / "done.json").read_text())["wall_s"] for run in eval_runs), 1
        ),
        "expert_success_rate": {t: expert[t]["expert_success_rate"] for t in eval_tasks},
        "allocator": machine.allocator(),
        "eval_keeps_freed_memory": name in EVAL_KEEPS_FREED_MEMORY,
        **machine.provenance(),
    }
    machine.write_json(grid.cell_path(name, task), cell)


def demos(grid: Grid) -> None:
    """Only the demonstrations of the grid's tasks (each recorded once), e.g. to prepare the data for cells run
    later."""
    for task in grid.tasks:
        task_demos(grid, task)


def run_all(grid: Grid) -> None:
    for name, policy_type, extra, task in runs(grid):
        # An ablation is compared with the default step count only (`report_metaworld.ablation_table`).
        one_step = name == "my_policy" and not grid.my_policy_options
        cells = [(name, [])] + ([(ONE_STEP, ["--policy.num_inference_steps=1"])] if one_step else [])
        if all(grid.cell_done(cell, task) for cell, _ in cells):
            continue
        train(grid, name, policy_type, extra, task)
        for cell, options in cells:
            if not grid.cell_done(cell, task):
                evaluate(grid, cell, task, options)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", nargs="?", choices=["all", "demos"], default="all")
    add_grid_arguments(parser)
    args = parser.parse_args()
    {"all": run_all, "demos": demos}[args.stage](machine.settings_from_args(Grid, parser, args))


if __name__ == "__main__":
    main()
