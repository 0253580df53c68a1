#!/usr/bin/env python
"""The LIBERO report, from a training run and its evaluations (`run_libero.py`): `benchmarks/results/libero.json`,
the MDX results table and the checkpoint in Hub layout (config, weights, processors, model card) under
`outputs/<checkpoint name>` (`my_policy_libero` for one checkpoint of the four suites). With `--tasks` (a check on
some tasks of one suite), only its own JSON next to it.

The suites may come from more than one checkpoint (e.g. one for libero_object+libero_spatial and one for
libero_goal+libero_10): libero.json keeps every published checkpoint under `checkpoints`, a new report replaces
those that share a suite with it, and `suites` has each suite's results with the checkpoint they come from.

    python -m benchmarks.libero.report_libero --suites libero_object,libero_spatial
    python -m benchmarks.libero.report_libero --suites libero_object --tasks 0 --out outputs/libero_object_task0
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import machine
from benchmarks.libero.libero_env import DEMOS_PER_TASK
from benchmarks.libero.run_libero import (
    EVAL_IMAGE_SIZE,
    EVAL_OPTIONS,
    EVAL_SEED,
    REPO,
    LiberoRun,
    add_run_arguments,
    eval_dir,
    task_names,
    train_launch,
)

RESULTS = REPO / "benchmarks" / "results" / "libero.json"
CHECK_ABLATIONS = RESULTS.parent / "libero_ablations"  # one-task checks with options changed
ALL_SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")  # LIBERO's usual table order
MDX_START, MDX_END = "<!-- libero-results:start -->", "<!-- libero-results:end -->"
CHECKS_START, CHECKS_END = "<!-- libero-checks:start -->", "<!-- libero-checks:end -->"
FAILURES = {"_failures": "failures", "_failures_binarized_gripper": "gripper snapped to ±1"}
GROUNDING = "_grounding"  # a check's swapped-instruction run (`failure_breakdown.py --swap-instruction`)


@dataclass(frozen=True)
class ReportFiles:
    """What the report reads besides the run (the demonstrations' report) and what it writes."""

    export: Path | None = None  # default: outputs/<checkpoint_name(suites)>
    demos_report: Path = REPO / "benchmarks" / "results" / "libero_demos.json"
    results: Path | None = None  # default: RESULTS, or <suite>_tasks<ids>.json next to it for a check
    mdx: Path = REPO / "docs" / "source" / "my_policy.mdx"
    checks_doc: Path = REPO / "benchmarks" / "README.md"  # the table of one-task checks
    grounding_dir: Path = RESULTS.parent  # `make libero-grounding`'s libero_grounding_<suite>*.json


def _shown(path: Path) -> str:
    """`path` relative to the repository when it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def checkpoint_name(suites: Iterable[str]) -> str:
    """A checkpoint's name, its export folder's and Hub repository's: `my_policy_libero` for the four suites,
    else named by the suites it covers (e.g. `my_policy_libero_goal_10`)."""
    suites = list(suites)
    if set(suites) == set(ALL_SUITES):
        return "my_policy_libero"
    return "my_policy_libero_" + "_".join(suite.removeprefix("libero_") for suite in suites)


def language_grounding(run: LiberoRun, suite: str, grounding_dir: Path) -> dict | None:
    """The swapped-instruction check (`make libero-grounding`) of the run's last checkpoint on `suite`, summed
    over the tasks it could swap; None when no such check was run on that checkpoint (one of an earlier step of
    the same run does not count)."""
    for path in sorted(grounding_dir.glob(f"libero_grounding_{suite}*.json")):
        check = json.loads(path.read_text())
        if not (
            check["suite"] == suite
            and check["swap_instruction"]
            and check.get("train_step") == machine.trained_steps(run.train_dir)
            and Path(check["checkpoint"]).resolve().is_relative_to(run.train_dir.resolve())
        ):
            continue
        return grounding_summary(check) | {"seed": check["seed"], "results": _shown(path)}
    return None


def picked_text(picked: dict[str, int]) -> str:
    """Which objects a grounding check's episodes picked, most often first: "the bowl in 14, nothing in 13"."""
    return ", ".join(f"{what} in {n}" for what, n in sorted(picked.items(), key=lambda choice: -choice[1]))


def grounding_summary(check: dict) -> dict:
    """A swapped-instruction check (`failure_breakdown.py --swap-instruction`) summed over the tasks it swapped."""
    swapped = [task for task in check["tasks"].values() if "language_grounding" in task]
    summary = {
        "tasks": len(swapped),
        "n_episodes": sum(task["episodes"] for task in swapped),
        "picked": dict(sum((Counter(t["language_grounding"]["picked"]) for t in swapped), Counter())),
    }
    judged = [task for task in swapped if "goal_met" in task["language_grounding"]]
    if judged:  # where every name in the named task's goal is in the scene (e.g. libero_goal's one scene)
        summary["goal_met"] = {
            "n_episodes": sum(task["episodes"] for task in judged),
            **sum((Counter(t["language_grounding"]["goal_met"]) for t in judged), Counter()),
        }
    return summary


def learning_curve(run: LiberoRun, suite: str) -> list[dict]:
    """The suite's success at the run's earlier checkpoints, by step (`make libero-eval LIBERO_CHECKPOINT_STEP=`),
    evaluated like the last one (same options, fixed starts): how far from converged the last checkpoint is. The
    last checkpoint's own evaluation is not among them."""
    points, last = [], machine.trained_steps(run.train_dir)
    for step in run.saved_checkpoints():
        evaluated = eval_dir(replace(run, checkpoint_step=step), suite)
        if step == last or not (evaluated / "done.json").exists():
            continue
        overall = json.loads((evaluated / "eval_info.json").read_text())["overall"]
        points.append(
            {
                "step": step,
                "success_rate": round(overall["pc_success"] / 100, 4),
                "n_episodes": overall["n_episodes"],
            }
        )
    return points


def collect(run: LiberoRun, files: ReportFiles) -> dict:
    """One checkpoint's results, from its train config, each suite's `eval_info.json` and, where it was run,
    each suite's language-grounding check."""
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.my_policy import MyPolicy

    out = run.out
    cfg = TrainPipelineConfig.from_pretrained(machine.last_checkpoint(run.train_dir))
    policy = MyPolicy.from_pretrained(machine.last_checkpoint(run.train_dir))
    demos = json.loads(files.demos_report.read_text())
    launch = train_launch(out)
    suites, eval_wall = {}, 0.0
    for suite in run.suites:
        evaluated = eval_dir(run, suite)
        info_path = evaluated / "eval_info.json"
        if not info_path.exists():
            raise SystemExit(f"no evaluation of {suite} at {info_path}: run the `eval` stage first")
        info = json.loads(info_path.read_text())
        names = task_names(suite)
        per_task = {
            names[t["task_id"]]: round(sum(t["metrics"]["successes"]) / len(t["metrics"]["successes"]), 4)
            for t in sorted(info["per_task"], key=lambda t: t["task_id"])
        }
        suites[suite] = {
            "success_rate": round(info["overall"]["pc_success"] / 100, 4),
            "n_episodes": info["overall"]["n_episodes"],
            "per_task": per_task,
        }
        eval_wall += json.loads((evaluated / "done.json").read_text())["wall_s"]
        held_out = eval_dir(replace(run, held_out_layouts=True), suite)
        if (held_out / "eval_info.json").exists():
            overall = json.loads((held_out / "eval_info.json").read_text())["overall"]
            suites[suite]["held_out_layouts"] = {
                "success_rate": round(overall["pc_success"] / 100, 4),
                "n_episodes": overall["n_episodes"],
            }
            eval_wall += json.loads((held_out / "done.json").read_text())["wall_s"]
        if grounding := language_grounding(run, suite, files.grounding_dir):
            suites[suite]["language_grounding"] = grounding
        if curve := learning_curve(run, suite):
            last = {key: suites[suite][key] for key in ("success_rate", "n_episodes")}
            suites[suite]["learning_curve"] = [*curve, {"step": machine.trained_steps(run.train_dir), **last}]
    kept = {
        suite: sorted({task["demos_kept"] for task in demos["suites"][suite].values()})
        for suite in run.suites
    }

    def recorded(setting: str, default) -> list:
        """Every value a recorder setting took in these suites' demos (record_demos.py's per-task report)."""
        tasks = [task for suite in run.suites for task in demos["suites"][suite].values()]
        return sorted({value for task in tasks for value in task.get(setting, [default])})

    action_noise, until_plan_ends = recorded("action_noise", 0.0), recorded("until_plan_ends", False)
    robot_start_noise = recorded("robot_start_noise", 0.0)
    return {
        **machine.provenance(),
        **({"git_commit": launch["git_commit"]} if launch.get("git_commit") else {}),  # the trained code's
        "data": {
            "source": "scripted expert (benchmarks/libero/scripted_expert.py), not the human demonstrations "
            "of lerobot/libero",
            "datasets": [_shown(run.data / suite) for suite in run.suites],
            "demos_per_task": kept[run.suites[0]][0] if len({tuple(v) for v in kept.values()}) == 1 else kept,
            "generator_commit": {
                suite: sorted(
                    {c for task in demos["suites"][suite].values() for c in task["generator_commits"]}
                )
                for suite in run.suites
            },
            # Demos recorded with noise on the executed actions (record_demos.py --action-noise), if any.
            **({"action_noise": action_noise} if action_noise != [0.0] else {}),
            # Demos starting with the arm moved off its default pose (record_demos.py --robot-start-noise), if any.
            **({"robot_start_noise": robot_start_noise} if robot_start_noise != [0.0] else {}),
            # Episodes recorded to the end of the expert's plan (record_demos.py --until-plan-ends), if any.
            **({"until_plan_ends": until_plan_ends} if until_plan_ends != [False] else {}),
        },
        "train_steps": machine.trained_steps(run.train_dir),
        "batch_size": cfg.batch_size * launch["nproc"],
        "train_processes": launch["nproc"],
        "seed": cfg.seed,
        "params": machine.trainable_params(policy),
        "policy_options": machine.policy_options(policy.config),
        "eval_options": run.extra,
        "train_wall_s": json.loads((run.train_dir / "wall_s.json").read_text())["wall_s"],
        "eval_seed": EVAL_SEED,
        "suites": suites,
        "average": round(sum(s["success_rate"] for s in suites.values()) / len(suites), 4),
        "eval_wall_s": round(eval_wall, 1),
    }


def combine(published: dict | None, results: dict) -> dict:
    """libero.json: the checkpoints published so far (`published`, that file's content) with `results` replacing
    every one that shares a suite with it, and each suite's results with the name of its checkpoint."""
    checkpoints = {}
    if published:
        # Written before libero.json held several checkpoints: one checkpoint's results, at the top level.
        earlier = published.get("checkpoints") or {checkpoint_name(published["suites"]): published}
        checkpoints = {
            name: earlier_results
            for name, earlier_results in earlier.items()
            if not set(earlier_results["suites"]) & set(results["suites"])
        }
    checkpoints[checkpoint_name(results["suites"])] = results
    rows = {
        suite: {**row, "checkpoint": name}
        for name, checkpoint in checkpoints.items()
        for suite, row in checkpoint["suites"].items()
    }
    order = [suite for suite in ALL_SUITES if suite in rows] + sorted(set(rows) - set(ALL_SUITES))
    return {
        "checkpoints": checkpoints,
        "suites": {suite: rows[suite] for suite in order},
        "average": round(sum(row["success_rate"] for row in rows.values()) / len(rows), 4),
    }


def results_table(results: dict) -> str:
    """Success per suite on the fixed starts and, where evaluated, on held-out layouts; with the checkpoint of each
    suite when they come from `combine`."""
    suites = results["suites"]
    held_out = any("held_out_layouts" in s for s in suites.values())
    by_checkpoint = any("checkpoint" in s for s in suites.values())

    def held_out_cell(suite: dict) -> str:
        if not held_out:
            return ""
        cell = suite.get("held_out_layouts")
        return f" {100 * cell['success_rate']:.1f} ({cell['n_episodes']}) |" if cell else " not run |"

    def checkpoint_cell(suite: dict) -> str:
        return f" `{suite['checkpoint']}` |" if by_checkpoint else ""

    rows = "\n".join(
        f"| {name} |{checkpoint_cell(s)} {100 * s['success_rate']:.1f} | {s['n_episodes']} |{held_out_cell(s)}"
        for name, s in suites.items()
    )
    header = (
        "| Suite |"
        + (" Checkpoint |" if by_checkpoint else "")
        + " Success (%) | Episodes |"
        + (" Held-out layouts (%, episodes) |" if held_out else "")
    )
    rule = "|---|---|---|" + ("---|" if by_checkpoint else "") + ("---|" if held_out else "")
    return (
        f"{header}\n{rule}\n{rows}\n"
        f"| **Average** |{' |' if by_checkpoint else ''} **{100 * results['average']:.1f}** | "
        f"{sum(s['n_episodes'] for s in suites.values())} |" + (" |" if held_out else "")
    )


def grounding_text(suites: dict) -> str:
    """What the policy did when told another task's sentence, per suite where that was checked ("" if nowhere)."""
    lines = []
    for name, suite in suites.items():
        if not (check := suite.get("language_grounding")):
            continue
        line = f"- {name}, {check['n_episodes']} episodes over {check['tasks']} tasks: picked {picked_text(check['picked'])}"
        if goal := check.get("goal_met"):
            named, own = goal.get("the named task's", 0), goal.get("the task's own", 0)
            line += f"; the named task's goal met in {named} of {goal['n_episodes']}, the original task's in {own}"
        lines.append(f"{line} (seed {check['seed']}, `{check['results']}`).")
    if not lines:
        return ""
    return (
        "Language grounding (`make libero-grounding`), on the suites' fixed starts: every episode of a task is told "
        "the sentence of another task of the same scene, one that names another object; a policy that reads the "
        "sentence picks the named object.\n\n" + "\n".join(lines)
    )


def learning_curve_text(suites: dict) -> str:
    """Each suite's success at the checkpoints of its run that were evaluated ("" where only the last was)."""
    lines = [
        f"- {name}: "
        + ", ".join(
            f"{point['step']} steps {100 * point['success_rate']:.0f}% ({point['n_episodes']})"
            for point in suite["learning_curve"]
        )
        for name, suite in suites.items()
        if suite.get("learning_curve")
    ]
    if not lines:
        return ""
    return (
        "Success at earlier checkpoints of the same run (`make libero-eval LIBERO_CHECKPOINT_STEP=<step>`; fixed "
        "starts, same seed; episodes in brackets):\n\n" + "\n".join(lines)
    )


def check_table(results_dir: Path) -> str:
    """Every one-task check: the default recipe's (`<suite>_tasks<ids>.json`, `make libero-check`) and those with
    options changed (`libero_ablations/*.json`), each with its failure breakdowns where they were run (the same
    name with `_failures` or `_failures_binarized_gripper`, `failure_breakdown.py`)."""
    cells = sorted(results_dir.glob("*_tasks*.json")) + sorted(
        (results_dir / CHECK_ABLATIONS.name).glob("*.json")
    )
    rows = []
    for path in cells:
        if path.stem.endswith((*FAILURES, GROUNDING)):
            continue
        cell = json.loads(path.read_text())
        (suite,) = cell["suites"]
        options = " ".join(
            [f"`{k}={json.dumps(v)}`" for k, v in cell.get("policy_options", {}).items()]
            + [f"`{option}` at evaluation" for option in cell.get("eval_options", [])]
            + ([f"training seed {cell['seed']}"] if cell["seed"] != LiberoRun.seed else [])
            + [f"demos with action noise {n}" for n in cell.get("data", {}).get("action_noise", [])]
            + [f"demos with robot start noise {n}" for n in cell.get("data", {}).get("robot_start_noise", [])]
            + (
                # Several recordings to the plan's end exist (machines, expert versions): the row names its own
                # by the commits the recorder ran at.
                [
                    f"demos to the plan's end (recorded at {', '.join(c[:7] for c in generators(cell['data']))})"
                ]
                if True in cell.get("data", {}).get("until_plan_ends", [])
                else []
            )
            + (
                [f"{demos} demos per task"]
                if (demos := cell.get("data", {}).get("demos_per_task", DEMOS_PER_TASK)) != DEMOS_PER_TASK
                else []
            )
        )
        breakdowns = []
        for suffix, label in FAILURES.items():
            failures = path.with_name(f"{path.stem}{suffix}.json")
            if failures.exists():
                breakdown = json.loads(failures.read_text())
                episodes = sum(task["episodes"] for task in breakdown["tasks"].values())
                outcomes = ", ".join(
                    f"{n} {name}" for name, n in sorted(breakdown["outcomes"].items(), key=lambda o: -o[1])
                )
                breakdowns.append(f"{label} ({episodes} episodes): {outcomes}")
        if (grounding := path.with_name(f"{path.stem}{GROUNDING}.json")).exists():
            check = grounding_summary(json.loads(grounding.read_text()))
            breakdowns.append(
                f"told another task's sentence ({check['n_episodes']} episodes): picked {picked_text(check['picked'])}"
            )
        rows.append(
            f"| {suite} {','.join(map(str, cell['tasks']))} | {options or 'defaults'} | "
            f"{cell['train_steps']} × {cell['batch_size']} | {cell['train_wall_s'] / 60:.0f} min | "
            f"{100 * cell['average']:.0f}% ({cell['suites'][suite]['n_episodes']}) | "
            f"{'; '.join(breakdowns) or 'not run'} | `{path.relative_to(results_dir)}` | {cell['git_commit'][:10]} |"
        )
    return (
        "| task | options | steps × batch | training | success (episodes) | failure breakdown | cell | commit |\n"
        "|---|---|---:|---:|---:|---|---|---|\n" + "\n".join(rows)
    )


def generators(data: dict) -> list[str]:
    """The commits of the recorder that wrote a run's demos, over all its suites."""
    return sorted({commit for commits in data["generator_commit"].values() for commit in commits})


def provenance(results: dict) -> str:
    data = results["data"]
    return (
        f"Trained {results['train_steps']} steps, batch {results['batch_size']} "
        f"({results.get('train_processes', 1)} data-parallel processes), seed {results['seed']}, on "
        f"{data['demos_per_task']} scripted-expert demonstrations per task (`benchmarks/libero/record_demos.py`, "
        f"generator commits {', '.join(generators(data))}); these are **not** the "
        f"human demonstrations of `lerobot/libero`. Evaluated with `lerobot-eval --env.type=libero` on LIBERO's "
        f"fixed initial states, {EVAL_IMAGE_SIZE}x{EVAL_IMAGE_SIZE} cameras, seed {results['eval_seed']}. Hardware: {results['hardware']}; training took "
        f"{results['train_wall_s'] / 3600:.1f} h, evaluation {results['eval_wall_s'] / 3600:.1f} h "
        f"(commit {results['git_commit'][:10]})."
    )


def reproduce(results: dict) -> str:
    """The make commands that produce `results`, with the settings they were produced with: the kind of demos and
    the policy options spelled out, so the commands stay right whatever the Makefile's defaults become."""
    suites = ",".join(results["suites"])
    episodes = {s["n_episodes"] // len(s["per_task"]) for s in results["suites"].values()}
    kind = " LIBERO_UNTIL_PLAN_ENDS=1" if True in results["data"].get("until_plan_ends", []) else ""
    kind += "".join(f" LIBERO_ROBOT_START_NOISE={n}" for n in results["data"].get("robot_start_noise", []))
    options = " ".join(
        f"--policy.{name}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"
        for name, value in results.get("policy_options", {}).items()
    )
    return (
        "```bash\nmake setup\n"
        + "".join(f"make libero-demos LIBERO_SUITE={suite}{kind}\n" for suite in results["suites"])
        + f"make libero-train LIBERO_SUITES={suites} LIBERO_STEPS={results['train_steps']} "
        + f"LIBERO_BATCH={results['batch_size']}{kind} LIBERO_POLICY='{options}'\n"
        + f"make libero-eval LIBERO_SUITES={suites} LIBERO_EVAL_EPISODES={max(episodes)}{kind}\n"
        + f"make libero-report LIBERO_SUITES={suites}{kind}\n```"
    )


def model_card(results: dict) -> str:
    """The README of one checkpoint's Hub repository: its suites' results, provenance and how to reproduce them."""
    name = checkpoint_name(results["suites"])
    grounding = f"{text}\n\n" if (text := grounding_text(results["suites"])) else ""
    curve = f"{text}\n\n" if (text := learning_curve_text(results["suites"])) else ""
    per_task = "\n".join(
        f"| {suite} | {task} | {100 * rate:.0f} |"
        for suite, s in results["suites"].items()
        for task, rate in s["per_task"].items()
    )
    return f"""---
license: apache-2.0
library_name: lerobot
pipeline_tag: robotics
tags: [robotics, lerobot, my_policy, libero]
---

# {name}

A multi-task, language-conditioned [`my_policy`](https://huggingface.co/docs/lerobot/my_policy) checkpoint for
LIBERO ({", ".join(results["suites"])}), trained from scratch on a CPU.

```bash
lerobot-eval --policy.path=lerobot/{name} --env.type=libero --env.task={next(iter(results["suites"]))} \\
  --env.observation_height={EVAL_IMAGE_SIZE} --env.observation_width={EVAL_IMAGE_SIZE} --eval.n_episodes=10 --eval.batch_size=2 --seed={results["eval_seed"]}
```

## Results

{results_table(results)}

{provenance(results)}

{curve}{grounding}| Suite | Task | Success (%) |
|---|---|---|
{per_task}

## Reproduce

From a clone of the contribution's repository:

{reproduce(results)}

{results["params"] / 1e6:.1f} M parameters.
"""


def mdx_section(published: dict) -> str:
    """The MDX's results: the suites' table, then each checkpoint's provenance and commands."""
    return "\n\n".join(
        [
            results_table(published),
            *([curve] if (curve := learning_curve_text(published["suites"])) else []),
            *([grounding] if (grounding := grounding_text(published["suites"])) else []),
            *(
                f"`{name}`: {provenance(results)}\n\n{reproduce(results)}"
                for name, results in published["checkpoints"].items()
            ),
        ]
    )


def report(run: LiberoRun, files: ReportFiles) -> None:
    results = collect(run, files)
    if run.tasks:  # a check on some tasks: its own JSON, not the suite table or the published checkpoint
        results["tasks"] = run.tasks
        path = files.results or RESULTS.with_name(
            f"{run.suites[0]}_tasks{'_'.join(map(str, run.tasks))}.json"
        )
        machine.write_json(path, results)
        doc = files.checks_doc
        doc.write_text(
            machine.replace_section(doc.read_text(), CHECKS_START, CHECKS_END, check_table(RESULTS.parent))
        )
        print(
            f"wrote {path} and the checks' table in {doc}: {100 * results['average']:.1f}% on {run.suites[0]} tasks {run.tasks}"
        )
        return
    path = files.results or RESULTS
    published = combine(json.loads(path.read_text()) if path.exists() else None, results)
    machine.write_json(path, published)
    files.mdx.write_text(
        machine.replace_section(files.mdx.read_text(), MDX_START, MDX_END, mdx_section(published))
    )
    export = files.export or REPO / "outputs" / checkpoint_name(run.suites)
    shutil.rmtree(export, ignore_errors=True)
    shutil.copytree(machine.last_checkpoint(run.train_dir), export)
    (export / "README.md").write_text(model_card(results))
    size = sum(f.stat().st_size for f in export.rglob("*") if f.is_file())
    print(
        f"wrote {path}, {files.mdx} and {export} ({size / 1e6:.1f} MB): average {100 * results['average']:.1f}% "
        f"on {', '.join(run.suites)}; {100 * published['average']:.1f}% on all {len(published['suites'])} suites"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(parser)
    defaults = ReportFiles()
    parser.add_argument(
        "--export", type=Path, default=defaults.export, help="default: outputs/<checkpoint name>"
    )
    parser.add_argument(
        "--demos-report", type=Path, default=defaults.demos_report, help="written by record_demos.py"
    )
    parser.add_argument(
        "--results", type=Path, help=f"default: {RESULTS}, or <suite>_tasks<ids>.json next to it with --tasks"
    )
    parser.add_argument("--mdx", type=Path, default=defaults.mdx)
    args, extra = parser.parse_known_args()
    if any(not option.startswith(EVAL_OPTIONS) for option in extra):
        parser.error(
            f"besides its own, the report takes only the evaluation's {EVAL_OPTIONS} options, got {extra}"
        )
    files = ReportFiles(args.export, args.demos_report, args.results, args.mdx)
    report(machine.settings_from_args(LiberoRun, parser, args, extra=extra), files)


if __name__ == "__main__":
    main()
