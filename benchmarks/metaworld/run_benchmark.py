#!/usr/bin/env python
"""Meta-World side by side: my_policy vs ACT vs Diffusion on the same scripted demonstrations and budget.

For each task, one dataset of scripted-expert demonstrations (`generate_demos.py`); every policy is trained on it
with `lerobot-train` (same steps, batch size, seed) and evaluated with `lerobot-eval` (same episodes and seed).
my_policy's checkpoints are evaluated twice, with their default Euler steps and in one-step mode, and one more
multi-task, language-conditioned my_policy is trained on all tasks' demonstrations and evaluated on each task.

Upstream defaults everywhere except what this machine needs, the same for every policy: `device=cpu`, and no
downloaded backbone weights (`pretrained_backbone_weights=null`; ACT and Diffusion default to ImageNet weights
fetched at run time, my_policy's default is already none).

Each (policy, task) cell trains, evaluates and then commits its numbers to `benchmarks/results/metaworld/`; a cell
whose file holds the same settings is skipped. Cells are independent (each trains from the demonstrations, which
are deterministic by seed), so the benchmark can be run in pieces, on different days or machines:

    python -m benchmarks.metaworld.run_benchmark --policies act --tasks reach-v3   # one cell
    python -m benchmarks.metaworld.run_benchmark            # every cell not done yet, in order; rerun to continue
    python -m benchmarks.metaworld.run_benchmark demos      # only the demonstrations, for every task
    python -m benchmarks.metaworld.run_benchmark report     # metaworld.json, the chart and the MDX table
    python -m benchmarks.metaworld.run_benchmark report --partial  # the same from the cells measured so far

An ablation trains my_policy with other options into its own folders, on the same demonstrations and budget:

    python -m benchmarks.metaworld.run_benchmark --policies my_policy --tasks push-v3 \
        --my-policy-options="--policy.resize_shape=[224,224]" \
        --cells benchmarks/results/metaworld_ablations/resize224 --out outputs/bench_metaworld_resize224
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from benchmarks import machine
from lerobot.utils.constants import OBS_ENV_STATE

REPO = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
# Two easy, two medium, two hard tasks in LeRobot's Meta-World difficulty groups (envs/metaworld_config.json).
TASKS = ["reach-v3", "drawer-open-v3", "sweep-into-v3", "coffee-push-v3", "push-v3", "pick-place-v3"]
POLICIES = {  # name -> (policy type, extra lerobot-train options)
    "my_policy": ("my_policy", []),
    "act": ("act", ["--policy.pretrained_backbone_weights=null"]),
    "diffusion": ("diffusion", ["--policy.pretrained_backbone_weights=null"]),
}
# Policies evaluated with jemalloc set to keep the memory it frees (`machine.with_jemalloc`). Diffusion's 100
# denoising passes through its 263 M-parameter U-Net free and re-allocate the same large buffers each pass; with any
# finite decay jemalloc hands them back to the kernel and faults them in again (19 M page faults a chunk, more
# system time than user time): a chunk took 29.5 s instead of 11.2 s, a failed drawer-open-v3 episode 9.4 min
# instead of 4.3 min, with identical rewards and ~3 GB after an episode, then only its video frames (~0.4 GB an
# episode; AMD EPYC, 2 cores). my_policy's evaluation grows without bound that way (`with_jemalloc`), so the other
# policies keep the default decay.
EVAL_KEEPS_FREED_MEMORY = {"diffusion"}
MULTITASK = "my_policy_multitask"
ONE_STEP = "my_policy_1step"
RESULTS = REPO / "benchmarks" / "results" / "metaworld.json"
CELLS = REPO / "benchmarks" / "results" / "metaworld"
CHART = REPO / "benchmarks" / "results" / "metaworld.png"
ABLATIONS = REPO / "benchmarks" / "results" / "metaworld_ablations"
MDX = REPO / "docs" / "source" / "my_policy.mdx"
OUT = REPO / "outputs" / "bench_metaworld"
MDX_START, MDX_END = "<!-- metaworld-results:start -->", "<!-- metaworld-results:end -->"
ABLATIONS_DOC = REPO / "benchmarks" / "README.md"  # the ablation table lives beside the grid's details
ABLATIONS_START, ABLATIONS_END = "<!-- metaworld-ablations:start -->", "<!-- metaworld-ablations:end -->"


def dataset_root(args: argparse.Namespace, task: str) -> Path:
    return args.data / f"{task}-{args.demos_per_task}"


def expert_report(args: argparse.Namespace, task: str) -> Path:
    """The expert's numbers, next to the demonstrations they come with (ablations share both)."""
    return args.data / f"{task}-{args.demos_per_task}.expert.json"


def task_demos(args: argparse.Namespace, task: str) -> Path:
    """The task's demonstrations, generated once, and the expert's report (`expert_report`)."""
    root = dataset_root(args, task)
    info = root / "meta" / "info.json"
    # Demonstrations recorded before they carried the environment state (same episodes) are recorded again.
    if not info.exists() or OBS_ENV_STATE not in json.loads(info.read_text())["features"]:
        machine.run_logged(
            [
                sys.executable,
                "-m",
                "benchmarks.metaworld.generate_demos",
                f"--tasks={task}",
                f"--demos-per-task={args.demos_per_task}",
                f"--root={root}",
                f"--seed={args.demo_seed}",
                f"--report={expert_report(args, task)}",
            ],
            args.out / "demos.log",
        )
    return root


def all_demos(args: argparse.Namespace) -> Path:
    """Every task's demonstrations in one dataset, for the multi-task run."""
    from lerobot.datasets.aggregate import aggregate_datasets

    merged = args.data / f"all-{args.demos_per_task}"
    if not (merged / "meta" / "info.json").exists():
        roots = [task_demos(args, task) for task in args.tasks]
        aggregate_datasets(
            repo_ids=[f"local/{r.name}" for r in roots],
            roots=roots,
            aggr_repo_id=f"local/{merged.name}",
            aggr_root=merged,
        )
    return merged


def run_dir(args: argparse.Namespace, name: str, task: str) -> Path:
    return args.out / name / task


def runs(args: argparse.Namespace) -> list[tuple[str, str, list[str], str]]:
    """(name, policy type, extra options, task) of every training run asked for, single-task ones first."""
    mine = args.my_policy_options
    single = [
        (name, policy_type, [*extra, *(mine if policy_type == "my_policy" else [])], task)
        for name, (policy_type, extra) in POLICIES.items()
        for task in args.tasks
        if name in args.policies
    ]
    return [*single, *([(MULTITASK, "my_policy", mine, "all")] if MULTITASK in args.policies else [])]


def settings(args: argparse.Namespace, task: str) -> dict:
    """What a cell's numbers depend on; a committed cell with other settings is run again."""
    return {
        "demos_per_task": args.demos_per_task,
        "demo_seed": args.demo_seed,
        "demo_camera": "video",  # cells measured on the earlier PNG datasets (same episodes) are run again
        "train_steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "eval_episodes_per_task": args.eval_episodes,
        "eval_seed": args.eval_seed,
        "tasks": args.tasks if task == "all" else [task],
        # Only ablations have any, so the benchmark's own cells keep their settings.
        **({"my_policy_options": args.my_policy_options} if args.my_policy_options else {}),
    }


def cell_path(args: argparse.Namespace, name: str, task: str) -> Path:
    return args.cells / f"{name}__{task}.json"


def cell_done(args: argparse.Namespace, name: str, task: str) -> bool:
    path = cell_path(args, name, task)
    return path.exists() and json.loads(path.read_text())["settings"] == settings(args, task)


def train(args: argparse.Namespace, name: str, policy_type: str, extra: list[str], task: str) -> None:
    data = all_demos(args) if task == "all" else task_demos(args, task)
    train_dir = run_dir(args, name, task) / "train"
    fresh = [
        str(BIN / "lerobot-train"),
        f"--policy.type={policy_type}",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        *extra,
        f"--dataset.repo_id=local/{data.name}",
        f"--dataset.root={data}",
        f"--batch_size={args.batch_size}",
        f"--seed={args.seed}",
        f"--num_workers={args.num_workers}",
        f"--output_dir={train_dir}",
        "--wandb.enable=false",
    ]
    options = [f"--save_freq={args.save_freq}", "--log_freq=50"]
    machine.train_or_resume(fresh, train_dir, args.steps, run_dir(args, name, task) / "train.log", options)


def trained_run(args: argparse.Namespace, name: str, task: str) -> Path:
    """The run whose checkpoint a cell evaluates: the one-step cell evaluates my_policy's."""
    return run_dir(args, name.replace(ONE_STEP, "my_policy"), task)


def lerobot_eval(
    args: argparse.Namespace, name: str, task: str, eval_task: str, extra: list[str]
) -> list[Path]:
    """`lerobot-eval` of the cell's checkpoint on one task, in runs of `--eval-episodes-per-run` episodes; returns
    their output folders.

    lerobot-eval seeds episode i of a run from `--seed` + i, so the run starting at episode k gets `--seed` =
    eval seed + k: every cell sees the same starts however its episodes are split (and a multi-task checkpoint the
    same starts as the single-task cells). A finished run is kept when the evaluation is stopped, so an evaluation
    longer than a session (Diffusion fails an episode in ~7 min here) continues where it stopped."""
    checkpoint = machine.last_checkpoint(trained_run(args, name, task) / "train")
    folders = []
    for first in range(0, args.eval_episodes, args.eval_episodes_per_run):
        episodes = min(args.eval_episodes_per_run, args.eval_episodes - first)
        seed = args.eval_seed + first
        folder = (
            run_dir(args, name, task)
            / "eval"
            / eval_task
            / f"episodes_{first:03d}-{first + episodes - 1:03d}"
        )
        command = [
            str(BIN / "lerobot-eval"),
            f"--policy.path={checkpoint}",
            "--env.type=metaworld",
            f"--env.task={eval_task}",
            f"--eval.n_episodes={episodes}",
            "--eval.batch_size=1",
            f"--seed={seed}",
            f"--output_dir={folder}",
            *extra,
        ]
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


def evaluate(args: argparse.Namespace, name: str, task: str, extra: list[str]) -> None:
    """Evaluate one cell's checkpoint on its task(s), then write the cell's numbers; `name` may differ from the
    trained run's (the one-step mode evaluates my_policy's checkpoint)."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class

    eval_tasks = args.tasks if task == "all" else [task]
    eval_runs = [run for t in eval_tasks for run in lerobot_eval(args, name, task, t, extra)]
    successes: dict[str, list[bool]] = {}
    for run in eval_runs:
        for t, episodes in episode_successes(json.loads((run / "eval_info.json").read_text())).items():
            successes.setdefault(t, []).extend(episodes)
    trained = trained_run(args, name, task)
    checkpoint = machine.last_checkpoint(trained / "train")
    config = PreTrainedConfig.from_pretrained(checkpoint)
    policy = get_policy_class(config.type).from_pretrained(checkpoint)
    expert = {t: json.loads(expert_report(args, t).read_text())["tasks"][t] for t in eval_tasks}
    cell = {
        "name": name,
        "task": task,
        "settings": settings(args, task),
        "success_rate": {t: sum(episodes) / len(episodes) for t, episodes in successes.items()},
        "eval_episodes_per_run": args.eval_episodes_per_run,
        "params": sum(p.numel() for p in policy.parameters() if p.requires_grad),
        "num_inference_steps": 1 if name == ONE_STEP else getattr(config, "num_inference_steps", None),
        # The one-step cell reuses my_policy's training; its cost is counted there.
        "train_wall_s": 0.0
        if name == ONE_STEP
        else json.loads((trained / "train" / "wall_s.json").read_text())["wall_s"],
        "eval_wall_s": round(
            sum(json.loads((run / "done.json").read_text())["wall_s"] for run in eval_runs), 1
        ),
        "expert_success_rate": {t: expert[t]["expert_success_rate"] for t in eval_tasks},
        "hardware": machine.hardware(),
        "allocator": machine.allocator(),
        "eval_keeps_freed_memory": name in EVAL_KEEPS_FREED_MEMORY,
        "git_commit": machine.git_commit(),
    }
    args.cells.mkdir(parents=True, exist_ok=True)
    cell_path(args, name, task).write_text(json.dumps(cell, indent=2) + "\n")


def demos(args: argparse.Namespace) -> None:
    """Only the demonstrations of `--tasks` (each generated once), e.g. to prepare the data for cells run later."""
    for task in args.tasks:
        task_demos(args, task)


def run_all(args: argparse.Namespace) -> None:
    for name, policy_type, extra, task in runs(args):
        # An ablation is compared with the default step count only (`ablation_table`).
        one_step = name == "my_policy" and not args.my_policy_options
        cells = [(name, [])] + ([(ONE_STEP, ["--policy.num_inference_steps=1"])] if one_step else [])
        if all(cell_done(args, cell, task) for cell, _ in cells):
            continue
        train(args, name, policy_type, extra, task)
        for cell, options in cells:
            if not cell_done(args, cell, task):
                evaluate(args, cell, task, options)


def episode_successes(info: dict) -> dict[str, list[bool]]:
    """Each episode's success per task from an `eval_info.json`; each task given to `--env.task` is its own task
    group."""
    return {t["task_group"]: t["metrics"]["successes"] for t in info["per_task"]}


def collect(args: argparse.Namespace) -> dict:
    """metaworld.json from the committed cells; every cell must hold the benchmark's current settings.

    With `args.partial`, cells not measured yet are listed under `missing_cells` instead of stopping the report, and
    a policy's mean is null until it has every task: a side-by-side of what exists while the grid is filled in."""
    import lerobot

    policies: dict[str, dict] = {}
    cells, missing = [], []
    for name in [*POLICIES, ONE_STEP, MULTITASK]:
        for task in ["all"] if name == MULTITASK else args.tasks:
            if cell_done(args, name, task):
                cells.append(json.loads(cell_path(args, name, task).read_text()))
            elif args.partial:
                missing.append(f"{name} on {task}")
            else:
                raise SystemExit(
                    f"{name} on {task}: no result with these settings at {cell_path(args, name, task)}; run "
                    f"`python -m benchmarks.metaworld.run_benchmark --policies {name.replace(ONE_STEP, 'my_policy')} "
                    f"--tasks {task if task != 'all' else ','.join(args.tasks)}` first (or report with --partial)"
                )
        if not (mine := [c for c in cells if c["name"] == name]):
            continue
        rates = {task: rate for c in mine for task, rate in c["success_rate"].items()}
        complete = all(task in rates for task in args.tasks)
        episodes = args.eval_episodes * len(args.tasks)
        successes = round(sum(rates[t] * args.eval_episodes for t in args.tasks)) if complete else None
        policies[name] = {
            "success_rate": {task: round(rates[task], 4) for task in args.tasks if task in rates},
            "mean_success_rate": round(successes / episodes, 4) if complete else None,
            "mean_success_ci95": wilson_interval(successes, episodes) if complete else None,
            "params": mine[0]["params"],
            "num_inference_steps": mine[0]["num_inference_steps"],
            "train_wall_s": round(sum(c["train_wall_s"] for c in mine), 1),
            "eval_wall_s": round(sum(c["eval_wall_s"] for c in mine), 1),
        }
    if not cells:
        raise SystemExit(f"no Meta-World cells in {args.cells} yet: run `make bench-metaworld` first")
    expert = {t: r for c in cells for t, r in c["expert_success_rate"].items()}
    return {
        "hardware": "; ".join(sorted({c["hardware"] for c in cells})),
        "upstream_version": lerobot.__version__,
        "git_commit": machine.git_commit(),
        "cell_commits": sorted({c["git_commit"] for c in cells}),
        "data": "Meta-World scripted experts (metaworld.policies) via benchmarks/metaworld/generate_demos.py",
        "demo_seed": args.demo_seed,
        "demos_per_task": args.demos_per_task,
        "expert_success_rate": {task: expert[task] for task in args.tasks if task in expert},
        "train_steps": args.steps,
        "batch_size": args.batch_size,
        "eval_episodes_per_task": args.eval_episodes,
        "seeds": {"train": args.seed, "eval": args.eval_seed},
        "changes_from_upstream_defaults": ["policy.device=cpu", "policy.pretrained_backbone_weights=null"],
        "tasks": args.tasks,
        "policies": policies,
        "total_wall_s": round(sum(p["train_wall_s"] + p["eval_wall_s"] for p in policies.values()), 1),
        "complete": not missing,
        "missing_cells": missing,
    }


def wilson_interval(successes: int, n: int) -> list[float]:
    """95 % Wilson score interval of a success rate (scipy, a Meta-World dependency): how far apart two policies'
    means must be to tell them apart with this many episodes (one task's 20 episodes alone are ±~20 points)."""
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(interval.low), 4), round(float(interval.high), 4)]


def percent(rate: float | None, digits: int = 0, missing: str = "not run") -> str:
    return missing if rate is None else f"{100 * rate:.{digits}f}%"


def table(results: dict) -> str:
    names = list(results["policies"])
    header = "| task | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names)
    rows = [
        f"| {task} | "
        + " | ".join(percent(results["policies"][n]["success_rate"].get(task)) for n in names)
        + " |"
        for task in results["tasks"]
    ]

    def mean(policy: dict) -> str:
        low_high = policy.get("mean_success_ci95")
        interval = f" ({100 * low_high[0]:.0f}–{100 * low_high[1]:.0f}%)" if low_high else ""
        return f"**{percent(policy['mean_success_rate'], 1, '—')}**{interval}"

    means = "| **mean** (95% interval) | " + " | ".join(mean(results["policies"][n]) for n in names) + " |"
    return "\n".join([header, *rows, means])


def ablation_table(args: argparse.Namespace) -> str:
    """my_policy with options changed against the benchmark's my_policy cell on the same task; each ablation is
    a folder of cells (`--my-policy-options` with its own `--cells`), made with the benchmark's budget. Options
    that did not earn a default are removed from the policy, so each row names the commit it was measured at (in
    full: typos reads a short id as words; `-dirty`: written with uncommitted changes)."""
    rows = []
    for path in sorted(args.ablations.glob("*/*.json")):
        cell = json.loads(path.read_text())
        name, task, options = cell["name"], cell["task"], cell["settings"].get("my_policy_options", [])
        if cell["settings"] != settings(args, task) | {"my_policy_options": options}:
            raise SystemExit(f"{path}: made with other settings than the benchmark's; run the ablation again")
        base = json.loads(cell_path(args, name, task).read_text()) if cell_done(args, name, task) else None
        rows.append(
            f"| {task} | {name} | `{' '.join(options)}` | "
            f"{percent(base['success_rate'][task] if base else None)} | {percent(cell['success_rate'][task])} | "
            f"{cell['train_wall_s'] / 60:.0f} min | {cell['git_commit']} |"
        )
    header = (
        "| task | cell | options | default | with the options | training | commit |\n"
        "|---|---|---|---:|---:|---:|---|"
    )
    return "\n".join([header, *rows])


def _count_cells(cells: list) -> str:
    return f"{len(cells)} cell" + ("" if len(cells) == 1 else "s")


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names, tasks = list(results["policies"]), results["tasks"]
    x = np.arange(len(tasks) + 1)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, name in enumerate(names):
        policy = results["policies"][name]
        rates = [policy["success_rate"].get(t) for t in tasks] + [policy["mean_success_rate"]]
        values = [np.nan if r is None else 100 * r for r in rates]  # a cell not run yet has no bar
        ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, [*tasks, "mean"], rotation=20)
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(
        f"Meta-World, {results['demos_per_task']} demos/task, {results['train_steps']} steps x batch "
        f"{results['batch_size']}, {results['eval_episodes_per_task']} episodes/task\n{results['hardware']}"
        + ("" if results["complete"] else f"; partial: {_count_cells(results['missing_cells'])} not run yet"),
        fontsize=8,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(args: argparse.Namespace) -> None:
    results = collect(args)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    chart(results, args.chart)
    partial = (
        ""
        if results["complete"]
        else f"**Partial grid**: {_count_cells(results['missing_cells'])} not run yet (`not run`); the means wait for "
        "every task. `make bench-metaworld` continues where it stopped.\n\n"
    )
    section = (
        f"{partial}{table(results)}\n\n`make bench-metaworld` ({results['demos_per_task']} scripted-expert "
        f"demonstrations per task, seeds {results['demo_seed']}+; {results['train_steps']} steps at batch {results['batch_size']}, "
        f"seed {results['seeds']['train']}; {results['eval_episodes_per_task']} `lerobot-eval` episodes per task, "
        f"seed {results['seeds']['eval']}; {results['hardware']}; total {results['total_wall_s'] / 3600:.1f} h, "
        f"commit {results['git_commit'][:10]}). A mean pools the {len(results['tasks'])} tasks' episodes; its "
        "95% interval is the Wilson score interval over them."
    )
    mdx = machine.replace_section(args.mdx.read_text(), MDX_START, MDX_END, section)
    if any(args.ablations.glob("*/*.json")):
        ablations = (
            f"{ablation_table(args)}\n\n`python -m benchmarks.metaworld.run_benchmark --policies my_policy --tasks "
            "<task> --my-policy-options=<option> --cells benchmarks/results/metaworld_ablations/<name> --out "
            "outputs/bench_metaworld_<name>` (the budget, seeds and hardware of the table above), at the row's "
            "commit."
        )
        doc = args.ablations_doc
        doc.write_text(machine.replace_section(doc.read_text(), ABLATIONS_START, ABLATIONS_END, ablations))
    args.mdx.write_text(mdx)
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", nargs="?", choices=["all", "demos", "report"], default="all")
    parser.add_argument("--tasks", default=",".join(TASKS), type=lambda s: s.split(","))
    parser.add_argument(
        "--policies",
        default=",".join([*POLICIES, MULTITASK]),
        type=lambda s: s.split(","),
        help=f"cells to run (my_policy includes its one-step evaluation); default: all of {[*POLICIES, MULTITASK]}",
    )
    parser.add_argument("--demos-per-task", type=int, default=20)
    parser.add_argument("--demo-seed", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--save-freq", type=int, default=500)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--eval-seed", type=int, default=1000)
    parser.add_argument(
        "--eval-episodes-per-run",
        type=int,
        default=5,
        help="episodes per lerobot-eval run (same starts however split; a stopped evaluation keeps finished runs)",
    )
    parser.add_argument("--data", type=Path, default=REPO / "data" / "metaworld" / "bench")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cells", type=Path, default=CELLS, help="where each cell's numbers are committed")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--mdx", type=Path, default=MDX)
    parser.add_argument(
        "--ablations-doc",
        type=Path,
        default=ABLATIONS_DOC,
        help="report: the page the ablation table goes to",
    )
    parser.add_argument(
        "--ablations", type=Path, default=ABLATIONS, help="report: ablation cells, one folder each"
    )
    parser.add_argument(
        "--my-policy-options",
        default=[],
        type=shlex.split,
        help="ablation: extra lerobot-train options for my_policy (needs its own --cells and --out)",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="report: list cells not run yet instead of stopping at the first",
    )
    args = parser.parse_args()
    if unknown := set(args.policies) - {*POLICIES, MULTITASK}:
        parser.error(f"unknown --policies {sorted(unknown)}; choose from {[*POLICIES, MULTITASK]}")
    if args.eval_episodes_per_run < 1:
        parser.error(f"--eval-episodes-per-run must be at least 1, got {args.eval_episodes_per_run}")
    if args.my_policy_options and (args.cells.resolve() == CELLS or args.out.resolve() == OUT):
        parser.error("--my-policy-options is an ablation: give it its own --cells and --out folders")
    {"all": run_all, "demos": demos, "report": report}[args.stage](args)


if __name__ == "__main__":
    main()
