#!/usr/bin/env python
"""Train `my_policy` on the scripted-expert LIBERO demonstrations and evaluate it with the stock tools.

One multi-task, language-conditioned checkpoint covers every suite it is trained on (upstream's LIBERO policies
are evaluated the same way: one model, the task sentence tells the tasks apart), so two suites cost one training
run. Every stage is resumable and skips what is already done:

    train    merge the suites' datasets (data/libero/<suite>) and run `lerobot-train`, or `--resume` it
    eval     `lerobot-eval --env.type=libero` per suite on LIBERO's fixed initial states
    report   benchmarks/results/libero.json, the MDX results table and the checkpoint in Hub layout
             (config, weights, processors, model card) under outputs/my_policy_libero

    python -m benchmarks.libero.run_libero train --suites libero_object,libero_spatial --steps 20000
    python -m benchmarks.libero.run_libero eval --suites libero_object,libero_spatial --episodes-per-task 10
    python -m benchmarks.libero.run_libero report --suites libero_object,libero_spatial

`train` passes further `--policy.<field>=<value>` options on to `lerobot-train`; `eval` passes `--policy.*`,
`--env.*` and `--eval.*` options on to `lerobot-eval` (e.g. `--policy.num_inference_steps=1`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from benchmarks import machine

REPO = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
DATA = REPO / "data" / "libero"
DEMOS_REPORT = REPO / "benchmarks" / "results" / "libero_demos.json"
RESULTS = REPO / "benchmarks" / "results" / "libero.json"
MDX = REPO / "docs" / "source" / "my_policy.mdx"
MDX_START, MDX_END = "<!-- libero-results:start -->", "<!-- libero-results:end -->"
EVAL_SEED = 1000
# The demos' camera resolution (record_demos.py, like lerobot/libero); the env's default is 360. The policy resizes
# any resolution, but rendering what it was trained on is both faithful and cheaper on a CPU.
EVAL_IMAGE_SIZE = 256
LAUNCH = "train_launch.json"


def train_dir(out: Path) -> Path:
    return out / "train"


def merged_dataset(suites: list[str]) -> Path:
    """The training dataset: one suite's folder, or the suites' datasets aggregated once into one folder."""
    from lerobot.datasets import LeRobotDatasetMetadata
    from lerobot.datasets.aggregate import aggregate_datasets

    roots = [DATA / suite for suite in suites]
    missing = [str(root) for root in roots if not (root / "meta" / "info.json").exists()]
    if missing:
        raise SystemExit(
            f"no dataset at {', '.join(missing)}: generate it with "
            f"`make libero-demos LIBERO_SUITE=<suite>` (benchmarks/libero/record_demos.py)"
        )
    if len(roots) == 1:
        return roots[0]
    merged = DATA / "+".join(suites)
    episodes = sum(LeRobotDatasetMetadata(f"local/{r.name}", root=r).total_episodes for r in roots)
    if (merged / "meta" / "info.json").exists():
        if LeRobotDatasetMetadata(f"local/{merged.name}", root=merged).total_episodes == episodes:
            return merged
        shutil.rmtree(merged)
    aggregate_datasets(
        repo_ids=[f"local/{r.name}" for r in roots],
        roots=roots,
        aggr_repo_id=f"local/{merged.name}",
        aggr_root=merged,
    )
    return merged


def train_launch(out: Path) -> dict:
    """How the training run in `out` is launched: processes and effective batch (lerobot-train's config only
    knows the per-process batch)."""
    path = out / LAUNCH
    return json.loads(path.read_text()) if path.exists() else {"nproc": 1, "batch_size": None}


def suite_tasks(suite: str) -> list:
    """LIBERO's tasks of `suite`, in task-id order."""
    from libero.libero import benchmark

    return benchmark.get_benchmark_dict()[suite]().tasks


def task_episodes(dataset: Path, suite: str, task_ids: list[int]) -> list[int]:
    """The dataset's episodes of the given tasks of `suite` (matched by their instruction)."""
    from lerobot.datasets import LeRobotDatasetMetadata

    tasks = suite_tasks(suite)
    if not all(0 <= t < len(tasks) for t in task_ids):
        raise SystemExit(f"--tasks must be task ids of {suite} (0-{len(tasks) - 1}), got {task_ids}")
    wanted = {tasks[t].language for t in task_ids}
    meta = LeRobotDatasetMetadata(f"local/{dataset.name}", root=dataset)
    episodes = [
        i
        for i, episode_tasks in zip(meta.episodes["episode_index"], meta.episodes["tasks"], strict=True)
        if set(episode_tasks) & wanted
    ]
    if not episodes:
        raise SystemExit(
            f"{dataset} has no demonstrations of {suite} tasks {task_ids}: record them with "
            f"`make libero-demos LIBERO_SUITE={suite} LIBERO_TASKS={','.join(map(str, task_ids))}`"
        )
    return episodes


def train(args: argparse.Namespace) -> None:
    dataset = merged_dataset(args.suites)
    only = [f"--dataset.episodes={task_episodes(dataset, args.suites[0], args.tasks)}"] if args.tasks else []
    # One single-threaded process per core, data parallel (DDP over gloo): small convolutions parallelise better
    # across processes than across the threads of one. `--batch-size` is the effective batch over processes.
    launcher = [str(BIN / "torchrun"), f"--nproc_per_node={args.nproc}"] if args.nproc > 1 else []
    launch, previous = {"nproc": args.nproc, "batch_size": args.batch_size}, train_launch(args.out)
    if machine.trained_steps(train_dir(args.out)) and previous != launch:
        raise SystemExit(
            f"{train_dir(args.out)} was trained with {previous}; resume with the same "
            "--nproc and --batch-size, or train in a new --out folder"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / LAUNCH).write_text(json.dumps(launch))
    fresh = [
        str(BIN / "lerobot-train"),
        "--policy.type=my_policy",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        f"--dataset.repo_id=local/{dataset.name}",
        f"--dataset.root={dataset}",
        f"--batch_size={args.batch_size // args.nproc}",
        f"--seed={args.seed}",
        f"--num_workers={args.num_workers}",
        f"--output_dir={train_dir(args.out)}",
        "--job_name=my_policy_libero",
        "--wandb.enable=false",
        *only,
        *args.extra,
    ]
    options = [f"--save_freq={args.save_freq}", f"--log_freq={args.log_freq}"]
    machine.train_or_resume(fresh, train_dir(args.out), args.steps, args.out / "train.log", options, launcher)


def evaluate(args: argparse.Namespace) -> None:
    out, step = args.out, machine.trained_steps(train_dir(args.out))
    if not step:
        raise SystemExit(f"no checkpoint under {train_dir(out)}: run the `train` stage first")
    for suite in args.suites:
        result = out / "eval" / suite
        wanted = {
            "checkpoint_step": step,
            "episodes_per_task": args.episodes_per_task,
            "seed": EVAL_SEED,
            "extra": args.extra,
            "tasks": args.tasks,
        }
        command = [
            str(BIN / "lerobot-eval"),
            f"--policy.path={machine.last_checkpoint(train_dir(out))}",
            "--env.type=libero",
            f"--env.task={suite}",
            f"--env.observation_height={EVAL_IMAGE_SIZE}",
            f"--env.observation_width={EVAL_IMAGE_SIZE}",
            f"--eval.n_episodes={args.episodes_per_task}",
            f"--eval.batch_size={args.eval_batch_size}",
            f"--seed={EVAL_SEED}",
            f"--output_dir={result}",
            *([f"--env.task_ids={args.tasks}"] if args.tasks else []),
            *args.extra,
        ]
        if not machine.run_unless_done(command, out / f"eval_{suite}.log", result, wanted):
            print(f"eval: {suite} already evaluated at step {step}")


def task_names(suite: str) -> list[str]:
    return [task.name for task in suite_tasks(suite)]


def collect(args: argparse.Namespace) -> dict:
    """libero.json from the checkpoint's train config and each suite's `eval_info.json`."""
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.my_policy import MyPolicy

    out = args.out
    cfg = TrainPipelineConfig.from_pretrained(machine.last_checkpoint(train_dir(out)))
    policy = MyPolicy.from_pretrained(machine.last_checkpoint(train_dir(out)))
    demos = json.loads(args.demos_report.read_text())
    nproc = train_launch(out)["nproc"]
    suites, eval_wall = {}, 0.0
    for suite in args.suites:
        info_path = out / "eval" / suite / "eval_info.json"
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
        eval_wall += json.loads((out / "eval" / suite / "done.json").read_text())["wall_s"]
    kept = {
        suite: sorted({task["demos_kept"] for task in demos["suites"][suite].values()})
        for suite in args.suites
    }
    return {
        "hardware": machine.hardware(),
        "git_commit": machine.git_commit(),
        "data": {
            "source": "scripted expert (benchmarks/libero/scripted_expert.py), not the human demonstrations "
            "of lerobot/libero",
            "datasets": [f"data/libero/{suite}" for suite in args.suites],
            "demos_per_task": kept[args.suites[0]][0]
            if len({tuple(v) for v in kept.values()}) == 1
            else kept,
            "generator_commit": {
                suite: sorted(
                    {c for task in demos["suites"][suite].values() for c in task["generator_commits"]}
                )
                for suite in args.suites
            },
        },
        "train_steps": machine.trained_steps(train_dir(out)),
        "batch_size": cfg.batch_size * nproc,
        "train_processes": nproc,
        "seed": cfg.seed,
        "params": sum(p.numel() for p in policy.parameters() if p.requires_grad),  # not the EMA copy
        "train_wall_s": json.loads((train_dir(out) / "wall_s.json").read_text())["wall_s"],
        "eval_seed": EVAL_SEED,
        "suites": suites,
        "average": round(sum(s["success_rate"] for s in suites.values()) / len(suites), 4),
        "eval_wall_s": round(eval_wall, 1),
    }


def results_table(results: dict) -> str:
    rows = "\n".join(
        f"| {suite} | {100 * s['success_rate']:.1f} | {s['n_episodes']} |"
        for suite, s in results["suites"].items()
    )
    return (
        f"| Suite | Success (%) | Episodes |\n|---|---|---|\n{rows}\n"
        f"| **Average** | **{100 * results['average']:.1f}** | "
        f"{sum(s['n_episodes'] for s in results['suites'].values())} |"
    )


def provenance(results: dict) -> str:
    data = results["data"]
    return (
        f"Trained {results['train_steps']} steps, batch {results['batch_size']} "
        f"({results.get('train_processes', 1)} data-parallel processes), seed {results['seed']}, on "
        f"{data['demos_per_task']} scripted-expert demonstrations per task (`benchmarks/libero/record_demos.py`, "
        f"generator commits {', '.join(sorted({c for cs in data['generator_commit'].values() for c in cs}))}); these are **not** the "
        f"human demonstrations of `lerobot/libero`. Evaluated with `lerobot-eval --env.type=libero` on LIBERO's "
        f"fixed initial states, {EVAL_IMAGE_SIZE}x{EVAL_IMAGE_SIZE} cameras, seed {results['eval_seed']}. Hardware: {results['hardware']}; training took "
        f"{results['train_wall_s'] / 3600:.1f} h, evaluation {results['eval_wall_s'] / 3600:.1f} h "
        f"(commit {results['git_commit'][:10]})."
    )


def reproduce(results: dict) -> str:
    """The make commands that produce `results`, with the settings they were produced with."""
    suites = ",".join(results["suites"])
    episodes = {s["n_episodes"] // len(s["per_task"]) for s in results["suites"].values()}
    return (
        "```bash\nmake setup\n"
        + "".join(f"make libero-demos LIBERO_SUITE={suite}\n" for suite in results["suites"])
        + f"make libero-train LIBERO_SUITES={suites} LIBERO_STEPS={results['train_steps']} "
        + f"LIBERO_BATCH={results['batch_size']}\n"
        + f"make libero-eval LIBERO_SUITES={suites} LIBERO_EVAL_EPISODES={max(episodes)}\n"
        + f"make libero-report LIBERO_SUITES={suites}\n```"
    )


def model_card(results: dict) -> str:
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

# my_policy_libero

A multi-task, language-conditioned [`my_policy`](https://huggingface.co/docs/lerobot/my_policy) checkpoint for
LIBERO ({", ".join(results["suites"])}), trained from scratch on a CPU.

```bash
lerobot-eval --policy.path=lerobot/my_policy_libero --env.type=libero --env.task=libero_object \\
  --env.observation_height={EVAL_IMAGE_SIZE} --env.observation_width={EVAL_IMAGE_SIZE} --eval.n_episodes=10 --eval.batch_size=2 --seed={results["eval_seed"]}
```

## Results

{results_table(results)}

{provenance(results)}

| Suite | Task | Success (%) |
|---|---|---|
{per_task}

## Reproduce

From a clone of the contribution's repository:

{reproduce(results)}

{results["params"] / 1e6:.1f} M parameters.
"""


def report(args: argparse.Namespace) -> None:
    results, default = collect(args), RESULTS
    if args.tasks:  # a check on some tasks: its own JSON, not the suite table or the published checkpoint
        results["tasks"] = args.tasks
        default = RESULTS.with_name(f"{args.suites[0]}_tasks{'_'.join(map(str, args.tasks))}.json")
    path = args.results or default
    path.write_text(json.dumps(results, indent=2) + "\n")
    if args.tasks:
        print(f"wrote {path}: {100 * results['average']:.1f}% on {args.suites[0]} tasks {args.tasks}")
        return
    section = f"{results_table(results)}\n\n{provenance(results)}\n\n{reproduce(results)}"
    args.mdx.write_text(machine.replace_section(args.mdx.read_text(), MDX_START, MDX_END, section))
    export = args.export
    shutil.rmtree(export, ignore_errors=True)
    shutil.copytree(machine.last_checkpoint(train_dir(args.out)), export)
    (export / "README.md").write_text(model_card(results))
    size = sum(f.stat().st_size for f in export.rglob("*") if f.is_file())
    print(
        f"wrote {path}, {args.mdx} and {export} ({size / 1e6:.1f} MB): average {100 * results['average']:.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=["train", "eval", "report"])
    parser.add_argument("--suites", default="libero_object,libero_spatial", type=lambda s: s.split(","))
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "libero")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=16, help="effective batch, over all processes")
    parser.add_argument(
        "--eval-batch-size", type=int, default=2, help="parallel envs per task in lerobot-eval"
    )
    parser.add_argument(
        "--nproc", type=int, default=2, help="training processes (data parallel); 1: no torchrun"
    )
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument(
        "--tasks",
        type=lambda s: [int(t) for t in s.split(",")],
        help="train and evaluate on these task ids of the (single) suite only, e.g. 0 or 0,3",
    )
    parser.add_argument(
        "--num-workers", type=int, default=2, help="data-loading workers per training process"
    )
    parser.add_argument("--save-freq", type=int, default=500)
    parser.add_argument("--log-freq", type=int, default=100)
    parser.add_argument("--episodes-per-task", type=int, default=10)
    parser.add_argument("--export", type=Path, default=REPO / "outputs" / "my_policy_libero")
    parser.add_argument("--demos-report", type=Path, default=DEMOS_REPORT, help="written by record_demos.py")
    parser.add_argument(
        "--results", type=Path, help=f"default: {RESULTS}, or <suite>_tasks<ids>.json next to it with --tasks"
    )
    parser.add_argument("--mdx", type=Path, default=MDX)
    args, args.extra = parser.parse_known_args()
    if args.nproc < 1 or args.batch_size % args.nproc:
        parser.error(f"--batch-size ({args.batch_size}) must be a multiple of --nproc ({args.nproc})")
    if args.tasks and len(args.suites) != 1:
        parser.error(f"--tasks selects tasks of one suite; got --suites {','.join(args.suites)}")
    passed_on = {"train": ("--policy.",), "eval": ("--policy.", "--env.", "--eval."), "report": ()}[
        args.stage
    ]
    if any(not extra.startswith(passed_on) for extra in args.extra):
        parser.error(f"the {args.stage} stage passes on only {passed_on or 'no'} options, got {args.extra}")
    {"train": train, "eval": evaluate, "report": report}[args.stage](args)


if __name__ == "__main__":
    main()
