#!/usr/bin/env python
"""The Meta-World grid's report, from the committed cells: `benchmarks/results/metaworld.json`, its chart, the
results table in the policy MDX, and the ablation table in `benchmarks/README.md`.

    python -m benchmarks.metaworld.report_metaworld            # every cell must exist with the grid's settings
    python -m benchmarks.metaworld.report_metaworld --partial  # the same from the cells measured so far
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks import machine
from benchmarks.metaworld.grid import (
    ABLATIONS,
    EQUAL_TIME,
    MULTITASK,
    ONE_STEP,
    POLICIES,
    REPO,
    RESULTS_DIR,
    Grid,
    add_grid_arguments,
)

MDX_START, MDX_END = "<!-- metaworld-results:start -->", "<!-- metaworld-results:end -->"
ABLATIONS_START, ABLATIONS_END = "<!-- metaworld-ablations:start -->", "<!-- metaworld-ablations:end -->"


@dataclass(frozen=True)
class ReportFiles:
    """What the report writes, and the ablation cells it reads."""

    results: Path = RESULTS_DIR / "metaworld.json"
    chart: Path = RESULTS_DIR / "metaworld.png"
    mdx: Path = REPO / "docs" / "source" / "my_policy.mdx"
    ablations_doc: Path = (
        REPO / "benchmarks" / "README.md"
    )  # the ablation table lives beside the grid's details
    ablations: Path = ABLATIONS


def collect(grid: Grid, partial: bool = False) -> dict:
    """metaworld.json from the committed cells; every cell must hold the benchmark's current settings.

    With `partial`, cells not measured yet are listed under `missing_cells` instead of stopping the report, and
    a policy's mean is null until it has every task: a side-by-side of what exists while the grid is filled in."""
    import lerobot

    policies: dict[str, dict] = {}
    cells, missing = [], []
    for name in [*POLICIES, ONE_STEP, MULTITASK]:
        for task in ["all"] if name == MULTITASK else grid.tasks:
            if grid.cell_done(name, task):
                cells.append(json.loads(grid.cell_path(name, task).read_text()))
            elif partial:
                missing.append(f"{name} on {task}")
            else:
                raise SystemExit(
                    f"{name} on {task}: no result with these settings at {grid.cell_path(name, task)}; run "
                    f"`python -m benchmarks.metaworld.run_metaworld --policies {name.replace(ONE_STEP, 'my_policy')} "
                    f"--tasks {task if task != 'all' else ','.join(grid.tasks)}` first (or report with --partial)"
                )
        if not (mine := [c for c in cells if c["name"] == name]):
            continue
        rates = {task: rate for c in mine for task, rate in c["success_rate"].items()}
        policies[name] = {
            **pooled(grid, rates),
            "params": mine[0]["params"],
            "num_inference_steps": mine[0]["num_inference_steps"],
            "train_wall_s": round(sum(c["train_wall_s"] for c in mine), 1),
            "eval_wall_s": round(sum(c["eval_wall_s"] for c in mine), 1),
        }
    if not cells:
        raise SystemExit(f"no Meta-World cells in {grid.cells} yet: run `make bench-metaworld` first")
    expert = {t: r for c in cells for t, r in c["expert_success_rate"].items()}
    extra = equal_time(grid)
    return {
        "hardware": "; ".join(sorted({c["hardware"] for c in cells})),
        "upstream_version": lerobot.__version__,
        "git_commit": machine.git_commit(),
        "cell_commits": sorted({c["git_commit"] for c in cells}),
        "data": "Meta-World scripted experts (metaworld.policies) via benchmarks/metaworld/record_demos.py",
        "demo_seed": grid.demo_seed,
        "demos_per_task": grid.demos_per_task,
        "expert_success_rate": {task: expert[task] for task in grid.tasks if task in expert},
        "train_steps": grid.steps,
        "batch_size": grid.batch_size,
        "eval_episodes_per_task": grid.eval_episodes,
        "seeds": {"train": grid.seed, "eval": grid.eval_seed},
        "changes_from_upstream_defaults": ["policy.device=cpu", "policy.pretrained_backbone_weights=null"],
        "tasks": grid.tasks,
        "policies": policies,
        **({"equal_training_time": extra} if extra else {}),
        "total_wall_s": round(
            sum(p["train_wall_s"] + p["eval_wall_s"] for p in policies.values())
            + (sum(extra["train_wall_s"].values()) + extra["eval_wall_s"] if extra else 0.0),
            1,
        ),
        "complete": not missing,
        "missing_cells": missing,
    }


def pooled(grid: Grid, rates: dict[str, float]) -> dict:
    """Per-task success rates and their mean over the pooled episodes, with its 95 % interval; the mean is null
    until every task has a rate."""
    complete = all(task in rates for task in grid.tasks)
    episodes = grid.eval_episodes * len(grid.tasks)
    successes = round(sum(rates[t] * grid.eval_episodes for t in grid.tasks)) if complete else None
    return {
        "success_rate": {task: round(rates[task], 4) for task in grid.tasks if task in rates},
        "mean_success_rate": round(successes / episodes, 4) if complete else None,
        "mean_success_ci95": wilson_interval(successes, episodes) if complete else None,
    }


def equal_time(grid: Grid) -> dict | None:
    """The equal-training-time column, from its cells committed so far (None if none): my_policy trained for as
    long as ACT's cell on each task, beside ACT's time and my_policy's steps."""
    done = [task for task in grid.tasks if grid.cell_done(EQUAL_TIME, task)]
    if not done:
        return None
    cells = {task: json.loads(grid.cell_path(EQUAL_TIME, task).read_text()) for task in done}
    return {
        **pooled(grid, {task: cell["success_rate"][task] for task, cell in cells.items()}),
        "train_steps": {task: cell["settings"]["train_steps"] for task, cell in cells.items()},
        "train_wall_s": {task: cell["train_wall_s"] for task, cell in cells.items()},
        "act_train_wall_s": {
            task: json.loads(grid.cell_path("act", task).read_text())["train_wall_s"] for task in done
        },
        "eval_wall_s": round(sum(cell["eval_wall_s"] for cell in cells.values()), 1),
        "missing_tasks": [task for task in grid.tasks if task not in cells],
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
    means = "| **mean** (95% interval) | " + " | ".join(mean(results["policies"][n]) for n in names) + " |"
    return "\n".join([header, *rows, means])


def mean(policy: dict) -> str:
    low_high = policy.get("mean_success_ci95")
    interval = f" ({100 * low_high[0]:.0f}–{100 * low_high[1]:.0f}%)" if low_high else ""
    return f"**{percent(policy['mean_success_rate'], 1, '—')}**{interval}"


def equal_time_table(results: dict) -> str:
    """ACT and my_policy at the grid's steps beside my_policy trained for as long as ACT's cell did."""
    extra, policies, steps = results["equal_training_time"], results["policies"], results["train_steps"]
    header = (
        f"| task | act ({steps} steps) | my_policy ({steps} steps) | my_policy, ACT's training time | its steps "
        "| training (ACT's) |\n|---|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {task} | {percent(policies['act']['success_rate'].get(task))} | "
        f"{percent(policies['my_policy']['success_rate'].get(task))} | {percent(extra['success_rate'].get(task))} | "
        + (
            f"{extra['train_steps'][task]} | {extra['train_wall_s'][task] / 60:.0f} min "
            f"({extra['act_train_wall_s'][task] / 60:.0f} min) |"
            if task in extra["success_rate"]
            else "| |"
        )
        for task in results["tasks"]
    ]
    means = f"| **mean** (95% interval) | {mean(policies['act'])} | {mean(policies['my_policy'])} | {mean(extra)} | | |"
    return "\n".join([header, *rows, means])


def ablation_table(grid: Grid, ablations: Path) -> str:
    """my_policy with options changed against the benchmark's my_policy cell on the same task; each ablation is
    a folder of cells (`--my-policy-options` with its own `--cells`), made with the benchmark's budget. Options
    that did not earn a default are removed from the policy, so each row names the commit it was measured at (in
    full: typos reads a short id as words; `-dirty`: written with uncommitted changes)."""
    rows = []
    for path in sorted(ablations.glob("*/*.json")):
        cell = json.loads(path.read_text())
        name, task, options = cell["name"], cell["task"], cell["settings"].get("my_policy_options", [])
        if cell["settings"] != grid.settings(task) | {"my_policy_options": options}:
            raise SystemExit(f"{path}: made with other settings than the benchmark's; run the ablation again")
        base = json.loads(grid.cell_path(name, task).read_text()) if grid.cell_done(name, task) else None
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


def report(grid: Grid, files: ReportFiles, partial: bool = False) -> None:
    results = collect(grid, partial)
    machine.write_json(files.results, results)
    chart(results, files.chart)
    missing = (
        ""
        if results["complete"]
        else f"**Partial grid**: {_count_cells(results['missing_cells'])} not run yet (`not run`); the means wait for "
        "every task. `make bench-metaworld` continues where it stopped.\n\n"
    )
    section = (
        f"{missing}{table(results)}\n\n`make bench-metaworld` ({results['demos_per_task']} scripted-expert "
        f"demonstrations per task, seeds {results['demo_seed']}+; {results['train_steps']} steps at batch {results['batch_size']}, "
        f"seed {results['seeds']['train']}; {results['eval_episodes_per_task']} `lerobot-eval` episodes per task, "
        f"seed {results['seeds']['eval']}; {results['hardware']}; total {results['total_wall_s'] / 3600:.1f} h, "
        f"commit {results['git_commit'][:10]}). A mean pools the {len(results['tasks'])} tasks' episodes; its "
        "95% interval is the Wilson score interval over them."
    )
    if "equal_training_time" in results:
        section += (
            "\n\n**Equal training time.** A CPU user's budget is time, and my_policy's training step is ~10× "
            "cheaper than ACT's: here my_policy trains for as long as ACT's cell on the same task did (as many steps "
            "as its own cell made in that time), on the same demonstrations, batch, seeds and evaluation "
            "(`python -m benchmarks.metaworld.run_metaworld --policies my_policy_equal_time`).\n\n"
            f"{equal_time_table(results)}"
        )
    mdx = machine.replace_section(files.mdx.read_text(), MDX_START, MDX_END, section)
    if any(files.ablations.glob("*/*.json")):
        ablations = (
            f"{ablation_table(grid, files.ablations)}\n\n`python -m benchmarks.metaworld.run_metaworld --policies my_policy "
            "--tasks <task> --my-policy-options=<option> --cells benchmarks/results/metaworld_ablations/<name> --out "
            "outputs/bench_metaworld_<name>` (the budget, seeds and hardware of the table above), at the row's "
            "commit."
        )
        doc = files.ablations_doc
        doc.write_text(machine.replace_section(doc.read_text(), ABLATIONS_START, ABLATIONS_END, ablations))
    files.mdx.write_text(mdx)
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_grid_arguments(parser)
    defaults = ReportFiles()
    for name in ("results", "chart", "mdx", "ablations_doc", "ablations"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, default=getattr(defaults, name))
    parser.add_argument(
        "--partial", action="store_true", help="list cells not run yet instead of stopping at the first"
    )
    args = parser.parse_args()
    files = ReportFiles(args.results, args.chart, args.mdx, args.ablations_doc, args.ablations)
    report(machine.settings_from_args(Grid, parser, args), files, args.partial)


if __name__ == "__main__":
    main()
