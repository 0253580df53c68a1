#!/usr/bin/env python
"""Train `my_policy` on the scripted-expert LIBERO demonstrations and evaluate it with the stock tools.

One multi-task, language-conditioned checkpoint covers every suite it is trained on (upstream's LIBERO policies
are evaluated the same way: one model, the task sentence tells the tasks apart), so two suites cost one training
run. Every stage is resumable and skips what is already done:

    train    merge the suites' datasets (data/libero/<suite>) and run `lerobot-train`, or `--resume` it
    eval     `lerobot-eval --env.type=libero` per suite on LIBERO's fixed initial states, or with
             `--held-out-layouts` on starts LIBERO's placement samplers draw from seeds no demonstration used

    python -m benchmarks.libero.run_libero train --suites libero_object,libero_spatial --steps 20000
    python -m benchmarks.libero.run_libero eval --suites libero_object,libero_spatial --episodes-per-task 10
    python -m benchmarks.libero.report_libero --suites libero_object,libero_spatial

`train` passes further `--policy.<field>=<value>` options on to `lerobot-train`; `eval` passes `--policy.*`,
`--env.*` and `--eval.*` options on to `lerobot-eval` (e.g. `--policy.num_inference_steps=1`). The report is
`report_libero.py`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import machine

REPO = Path(__file__).resolve().parents[2]

DATA = REPO / "data" / "libero"
EVAL_SEED = 1000
# The demos' camera resolution (record_demos.py, like lerobot/libero); the env's default is 360. The policy resizes
# any resolution, but rendering what it was trained on is both faithful and cheaper on a CPU.
EVAL_IMAGE_SIZE = 256
LAUNCH = "train_launch.json"
EVAL_OPTIONS = ("--policy.", "--env.", "--eval.")  # what `eval` passes on to lerobot-eval


@dataclass(frozen=True)
class LiberoRun:
    """One multi-task training run on `suites` (or on some `tasks` of one suite) in `out`, and its evaluations."""

    suites: list[str] = field(default_factory=lambda: ["libero_object", "libero_spatial"])
    out: Path = REPO / "outputs" / "libero"
    tasks: list[int] | None = None  # task ids of the single suite, for a check on some tasks only
    steps: int = 4000
    batch_size: int = 16  # effective, over all processes
    nproc: int = 2  # data-parallel training processes; 1: no torchrun
    seed: int = 1000
    num_workers: int = 2  # data-loading workers per training process
    save_freq: int = 500
    log_freq: int = 100
    episodes_per_task: int = 10
    eval_batch_size: int = 2  # parallel envs per task in lerobot-eval
    extra: list[str] = field(default_factory=list)  # passed on to lerobot-train / lerobot-eval
    held_out_layouts: bool = False  # evaluate on sampled starts no demonstration had, not the fixed ones
    # evaluate this earlier checkpoint, not the last: a learning-curve point
    checkpoint_step: int | None = None
    data: Path = DATA  # the suites' datasets are its sub-folders (record_demos.py's --root)

    def __post_init__(self):
        if self.nproc < 1 or self.batch_size % self.nproc:
            raise ValueError(f"batch size ({self.batch_size}) must be a multiple of nproc ({self.nproc})")
        if self.tasks and len(self.suites) != 1:
            raise ValueError(f"tasks are task ids of one suite; got suites {','.join(self.suites)}")

    @property
    def train_dir(self) -> Path:
        return self.out / "train"

    def saved_checkpoints(self) -> dict[int, Path]:
        """Every checkpoint `lerobot-train` saved in this run: its `pretrained_model` folder by training step."""
        folders = sorted((self.train_dir / "checkpoints").glob("[0-9]*"))
        return {machine.checkpoint_step(f / "pretrained_model"): f / "pretrained_model" for f in folders}

    def checkpoint(self) -> Path:
        """The `pretrained_model` folder to evaluate: the last checkpoint's, or that of `checkpoint_step`."""
        if self.checkpoint_step is None:
            return machine.last_checkpoint(self.train_dir)
        saved = self.saved_checkpoints()
        if self.checkpoint_step not in saved:
            raise SystemExit(
                f"no checkpoint of step {self.checkpoint_step} under {self.train_dir / 'checkpoints'}; "
                f"saved: {sorted(saved) or 'none'}"
            )
        return saved[self.checkpoint_step]


def merged_dataset(suites: list[str], data: Path = DATA) -> Path:
    """The training dataset: one suite's folder, or the suites' datasets aggregated once into one folder."""
    from lerobot.datasets import LeRobotDatasetMetadata

    roots = [data / suite for suite in suites]
    missing = [str(root) for root in roots if not (root / "meta" / "info.json").exists()]
    if missing:
        raise SystemExit(
            f"no dataset at {', '.join(missing)}: generate it with "
            f"`make libero-demos LIBERO_SUITE=<suite>` (benchmarks/libero/record_demos.py --root {data}/<suite>)"
        )
    if len(roots) == 1:
        return roots[0]
    merged = data / "+".join(suites)
    episodes = sum(LeRobotDatasetMetadata(f"local/{r.name}", root=r).total_episodes for r in roots)
    if (merged / "meta" / "info.json").exists():
        if LeRobotDatasetMetadata(f"local/{merged.name}", root=merged).total_episodes == episodes:
            return merged
        shutil.rmtree(merged)
    machine.aggregate_local_datasets(roots, merged)
    return merged


def train_launch(out: Path) -> dict:
    """How the training run in `out` is launched: processes and effective batch (lerobot-train's config only
    knows the per-process batch), the `--policy.*` options it was started with (`policy_options`; runs started
    before they were recorded lack them), and the commit whose code started it (`git_commit`; the report's, since
    the code may move on while a run trains)."""
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


def train(run: LiberoRun) -> None:
    dataset = merged_dataset(run.suites, run.data)
    only = [f"--dataset.episodes={task_episodes(dataset, run.suites[0], run.tasks)}"] if run.tasks else []
    # One single-threaded process per core, data parallel (DDP over gloo): at least as fast as one process on both
    # cores (`make bench-train-cost`, the recipe: 38 against 35 samples/s on an AMD EPYC). `--batch-size` is the
    # effective batch over processes.
    launcher = machine.train_launcher(run.nproc)
    # A resumed `lerobot-train` reads its options and its dataset from the checkpoint and would ignore other ones
    # without a word.
    launch = {
        "nproc": run.nproc,
        "batch_size": run.batch_size,
        "policy_options": run.extra,
        "dataset": f"{dataset.parent.name}/{dataset.name}",
        "tasks": run.tasks,
    }
    previous = train_launch(run.out)
    resumed = machine.trained_steps(run.train_dir) > 0
    if resumed and any(key in previous and previous[key] != value for key, value in launch.items()):
        raise SystemExit(
            f"{run.train_dir} was trained with {previous}; resume with the same "
            "suites, --tasks, --data, --nproc, --batch-size and --policy.* options, or train in a new --out folder"
        )
    # A resumed run keeps the commit that started it (runs started before this was recorded: the resuming one).
    launch["git_commit"] = (resumed and previous.get("git_commit")) or machine.git_commit()
    run.out.mkdir(parents=True, exist_ok=True)
    (run.out / LAUNCH).write_text(json.dumps(launch))
    fresh = machine.lerobot_train_command(
        "my_policy",
        dataset,
        run.train_dir,
        run.batch_size // run.nproc,
        run.seed,
        run.num_workers,
        ["--job_name=my_policy_libero", *only, *run.extra],
    )
    options = [f"--save_freq={run.save_freq}", f"--log_freq={run.log_freq}"]
    machine.train_or_resume(fresh, run.train_dir, run.steps, run.out / "train.log", options, launcher)


def evaluate(run: LiberoRun) -> None:
    if not machine.trained_steps(run.train_dir):
        raise SystemExit(f"no checkpoint under {run.train_dir}: run the `train` stage first")
    out, checkpoint = run.out, run.checkpoint()
    step = machine.checkpoint_step(checkpoint)
    for suite in run.suites:
        result = eval_dir(run, suite)
        wanted = {
            "checkpoint_step": step,
            "episodes_per_task": run.episodes_per_task,
            "seed": EVAL_SEED,
            "extra": run.extra,
            "tasks": run.tasks,
        }
        env = [
            "--env.type=libero",
            f"--env.task={suite}",
            f"--env.observation_height={EVAL_IMAGE_SIZE}",
            f"--env.observation_width={EVAL_IMAGE_SIZE}",
            *([f"--env.task_ids={run.tasks}"] if run.tasks else []),
            # Starts drawn by LIBERO's placement samplers from lerobot-eval's seeds (1000 + episode), which no
            # demonstration used (record_demos' seeds start at 100000), instead of the suite's fixed starts.
            *(["--env.init_states=false"] if run.held_out_layouts else []),
        ]
        command = machine.lerobot_eval_command(
            checkpoint,
            env,
            run.episodes_per_task,
            run.eval_batch_size,
            EVAL_SEED,
            result,
            run.extra,
        )
        log = out / f"{result.parent.name}_{suite}.log"
        if not machine.run_unless_done(command, log, result, wanted):
            print(f"eval: {suite} already evaluated at step {step}")


def eval_dir(run: LiberoRun, suite: str) -> Path:
    """Where `lerobot-eval` writes a suite's evaluation: the fixed starts', or the held-out layouts'. Options
    passed on to `lerobot-eval` (e.g. `--policy.n_action_steps=4`) and an earlier checkpoint (`eval_step006000`)
    name a folder of their own, so evaluating a checkpoint with them never replaces its default evaluation."""
    name = "eval_held_out_layouts" if run.held_out_layouts else "eval"
    if run.checkpoint_step is not None:
        name += f"_step{run.checkpoint_step:06d}"
    options = [re.sub(r"[^\w.=,-]+", "_", option.removeprefix("--")) for option in run.extra]
    return run.out / "_".join([name, *options]) / suite


def task_names(suite: str) -> list[str]:
    return [task.name for task in suite_tasks(suite)]


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = LiberoRun()
    parser.add_argument("--suites", default=defaults.suites, type=lambda s: s.split(","))
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument(
        "--tasks",
        type=lambda s: [int(t) for t in s.split(",")],
        help="train and evaluate on these task ids of the (single) suite only, e.g. 0 or 0,3",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=defaults.data,
        help="folder holding one dataset per suite (record_demos --root)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=["train", "eval"])
    add_run_arguments(parser)
    defaults = LiberoRun()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="effective batch, over all processes"
    )
    parser.add_argument(
        "--eval-batch-size",
        type=int,
        default=defaults.eval_batch_size,
        help="parallel envs per task in lerobot-eval",
    )
    parser.add_argument(
        "--nproc", type=int, default=defaults.nproc, help="training processes (data parallel); 1: no torchrun"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=defaults.num_workers,
        help="data-loading workers per training process",
    )
    parser.add_argument("--save-freq", type=int, default=defaults.save_freq)
    parser.add_argument("--log-freq", type=int, default=defaults.log_freq)
    parser.add_argument("--episodes-per-task", type=int, default=defaults.episodes_per_task)
    parser.add_argument(
        "--held-out-layouts",
        action="store_true",
        help="eval: starts sampled by LIBERO's placement samplers from seeds no demonstration used",
    )
    parser.add_argument(
        "--checkpoint-step",
        type=int,
        help="eval: this earlier checkpoint of the run (e.g. 6000) instead of the last, a learning-curve point",
    )
    args, extra = parser.parse_known_args()
    passed_on = {"train": ("--policy.",), "eval": EVAL_OPTIONS}[args.stage]
    if any(not option.startswith(passed_on) for option in extra):
        parser.error(f"the {args.stage} stage passes on only {passed_on} options, got {extra}")
    if args.stage == "train" and args.checkpoint_step is not None:
        parser.error("--checkpoint-step picks the checkpoint to evaluate; training resumes from the last one")
    {"train": train, "eval": evaluate}[args.stage](
        machine.settings_from_args(LiberoRun, parser, args, extra=extra)
    )


if __name__ == "__main__":
    main()
