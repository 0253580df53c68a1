#!/usr/bin/env python
"""Generate LIBERO demonstrations with the scripted expert and record them as a local LeRobotDataset v3.

Every frame is what `lerobot-eval --env.type=libero` hands a policy for the same simulator state: LeRobot's
`LiberoEnv` observation, through `preprocess_observation` and the LIBERO env processor (`LiberoProcessorStep`,
which rotates both cameras by 180 degrees and builds the 8-D state). Keys, shapes and conventions follow
`lerobot/libero`: `observation.images.image` (agent view) and `observation.images.image2` (wrist), 256x256 by
default, `observation.state` (eef position, eef axis-angle, 2 gripper joints), 7-D relative `action`, the task
sentence per frame, at the env's 20 fps (one frame per env step). `observation.environment_state` adds what only
the cameras show: the positions of the task's objects of interest (the BDDL's `obj_of_interest`: the object to
move, then where it goes; regions by their site), `ENVIRONMENT_STATE_SLOTS` slots of xyz, zeros where a task names
fewer. `lerobot-eval` never provides it; my_policy may learn to predict it from its cameras at training time.

Starts are drawn by LIBERO's own placement samplers (`init_states=False`, seeded), never from the fixed initial
states `lerobot-eval` uses: a start within 1 mm (every object's xy) of one of them is rejected, and so is a start
that puts an object outside the range those evaluation starts cover (3 cm margin); both are counted, and the report
gives how far the kept starts are from the nearest evaluation start.
LIBERO's fixed starts also hold the arm off its default pose (each joint by N(0, 0.02^2) rad), which a sampled start
never does; `--robot-start-noise 0.02` moves the arm likewise at each attempt's start (the objects already placed),
so the demonstrations begin from the arm poses the evaluation shows (`failure_breakdown.py --default-robot-pose`
measures what the default pose alone is worth on the fixed starts). Such demos go to their own `--root`.
Only successful episodes are kept. With `--action-noise`, the env executes the expert's actions with Gaussian noise
added (DART: the expert corrects what the noise did, as a policy must correct its own errors) while the episode
records the expert's clean actions; such demos go to their own `--root`. An episode ends at the first step that
meets the goal (for a pick-and-place, with the object still held over its place); with `--until-plan-ends` it goes on
to the end of the expert's plan, the release and the retreat included, except on the tasks that
`libero_env.GOAL_HOLDS_ONLY_BEFORE_PLAN_ENDS` names with the reason (their attempts log `until_plan_ends: false`);
those demos too go to their own `--root`.

Work is resumable and parallel: each attempt's outcome is staged under `<root>/../.staging/<name>/` (successful
episodes as one-episode datasets, so videos are encoded once), every task is split across the workers (worker k
takes the attempts k, k + workers, ...), and an interrupted run continues where it stopped. Seeds are a function of
(task, attempt) and a task keeps its first successes in attempt order, so the kept episodes do not depend on the
number of workers or interruptions. A staging resumes only with the expert that made it (`expert_sha256` of
its source in `settings.json`), so one dataset never mixes two experts. Each finished task is reported and assembled into its own dataset while the
workers go on; once every task is done, the suite's dataset is those, in task order.

    python -m benchmarks.libero.record_demos --suite libero_object --demos-per-task 50 --workers 2 \\
        --root data/libero/libero_object --report benchmarks/results/libero_demos.json
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks import machine
from benchmarks.libero import setup_libero
from benchmarks.libero.libero_env import (
    ACTION_NAMES,
    DEMOS_PER_TASK,
    ENVIRONMENT_STATE_NAMES,
    FIXED_START_JOINT_NOISE,
    IMAGE_KEYS,
    STATE_NAMES,
    EvalPipeline,
    attempt_seed,
    eval_start_positions,
    make_env,
    place_arm,
    rollout,
    start_rejection,
    to_plan_end,
)
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_STATE


def dataset_features(image_size: int) -> dict:
    image = {"dtype": "video", "shape": (image_size, image_size, 3), "names": ["height", "width", "channels"]}
    return {
        IMAGE_KEYS[0]: dict(image),
        IMAGE_KEYS[1]: dict(image),
        OBS_STATE: {"dtype": "float32", "shape": (8,), "names": STATE_NAMES},
        OBS_ENV_STATE: {
            "dtype": "float32",
            "shape": (len(ENVIRONMENT_STATE_NAMES),),
            "names": ENVIRONMENT_STATE_NAMES,
        },
        ACTION: {"dtype": "float32", "shape": (7,), "names": ACTION_NAMES},
    }


@dataclass(frozen=True)
class TaskShard:
    """One worker's share of a task: the attempts shard, shard + shards, ... until the task has `demos`."""

    suite_name: str
    task_id: int
    shard: int
    shards: int
    demos: int
    max_attempts: int
    seed: int
    image_size: int
    action_noise: float
    robot_start_noise: float
    until_plan_ends: bool
    staging: Path
    commit: str  # the generator's code, recorded with every attempt


def run_task(job: TaskShard) -> None:
    """Worker: one shard of a task's attempts (shard, shard + shards, ...), each outcome staged as it happens.

    A shard stops once the task's successes before its next attempt (any shard's) reach `demos`: that attempt
    could no longer be among the kept, which are the first `demos` successes in attempt order."""
    suite_name, task_id, shard, shards, demos = job.suite_name, job.task_id, job.shard, job.shards, job.demos
    seed, max_attempts, image_size = job.seed, job.max_attempts, job.image_size
    torch.set_num_threads(1)  # workers share the cores; threaded small tensor ops only oversubscribe them
    if shards > 1:
        # Likewise Mesa's llvmpipe, which rasterizes the cameras on one thread per core by default: with two
        # workers on 2 cores, one thread each renders the same pixels ~7 % faster (AMD EPYC, 154 vs 165 ms/step).
        os.environ.setdefault("LP_NUM_THREADS", "1")
    task_dir = job.staging / f"task_{task_id:02d}"
    task_dir.mkdir(parents=True, exist_ok=True)
    log_path = task_dir / f"attempts-{shard}.jsonl"
    if (attempt := next_attempt(read_log(task_dir), shard, shards, demos, max_attempts)) is None:
        return
    env, config = make_env(suite_name, task_id, image_size)
    pipeline = EvalPipeline(config)
    env.reset(seed=seed)
    eval_starts = eval_start_positions(env, suite_name, task_id)
    until_plan_ends = to_plan_end(suite_name, task_id, job.until_plan_ends)
    hardware = machine.hardware()  # a suite may be recorded in parts, on other machines
    while attempt is not None and not machine.parent_exited():
        start = time.perf_counter()
        start_seed = attempt_seed(seed, task_id, attempt)
        observation, _ = env.reset(seed=start_seed)
        rejection, distance = start_rejection(eval_starts, env)
        if rejection:
            record = {"attempt": attempt, "seed": start_seed, "outcome": rejection}
        else:
            if job.robot_start_noise:  # its own random stream, not the action noise's
                arm_rng = np.random.default_rng([start_seed, 1])
                observation = place_arm(env, job.robot_start_noise, arm_rng)
            episode, outcome, _ = rollout(
                env,
                observation,
                pipeline,
                job.action_noise,
                noise_seed=start_seed,
                until_plan_ends=until_plan_ends,
            )
            record = {
                "attempt": attempt,
                "seed": start_seed,
                "outcome": outcome,
                "eval_start_distance": distance,
                "action_noise": job.action_noise,
                "robot_start_noise": job.robot_start_noise,
                "until_plan_ends": until_plan_ends,
            }
            if episode is not None:
                write_episode(task_dir / f"episode_{attempt:04d}", episode, env.task_description, image_size)
                record["length"] = len(episode[ACTION])
        record["wall_s"] = round(time.perf_counter() - start, 2)
        record["generator_commit"] = job.commit
        record["hardware"] = hardware
        record["workers"] = shards  # wall_s was measured sharing the machine with this many workers
        with log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        log = read_log(task_dir)
        print(
            f"{suite_name} task {task_id} ({env.task}): attempt {attempt} {record['outcome']}, "
            f"{len(kept_records(log, demos))}/{demos} demos, {record['wall_s']:.1f}s",
            flush=True,
        )
        attempt = next_attempt(log, shard, shards, demos, max_attempts)
    env.close()


def next_attempt(log: list[dict], shard: int, shards: int, demos: int, max_attempts: int) -> int | None:
    """The shard's next attempt not yet logged, or None when it cannot be among the task's kept demos."""
    done = {r["attempt"] for r in log}
    attempt = next(a for a in itertools.count(shard, shards) if a not in done)
    successes_before = sum(r["outcome"] == "success" and r["attempt"] < attempt for r in log)
    return None if attempt >= max_attempts or successes_before >= demos else attempt


def write_episode(path: Path, episode: dict[str, np.ndarray], task: str, image_size: int) -> None:
    """Stage one successful episode as a finalized one-episode LeRobotDataset (videos encoded once, here)."""
    from lerobot.datasets import LeRobotDataset
    from lerobot.envs.configs import LiberoEnv as LiberoEnvConfig

    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    dataset = LeRobotDataset.create(
        repo_id=f"local/{path.name}",
        fps=LiberoEnvConfig().fps,
        features=dataset_features(image_size),
        root=partial,
        robot_type="panda",
        use_videos=True,
        # Frames go to the encoder as they are added: no PNG round trip and no encoder processes per episode
        # (measured here: 2.7 s instead of 13 s per 130-frame episode with the other worker busy).
        streaming_encoding=True,
        # Room for the whole episode: the streaming encoder drops (and only logs) a frame it cannot queue within
        # 0.1 s, which shifts every later frame of that video by one step.
        encoder_queue_maxsize=len(episode[ACTION]),
    )
    for t in range(len(episode[ACTION])):
        dataset.add_frame({key: value[t] for key, value in episode.items()} | {"task": task})
    dataset.save_episode()
    dataset.finalize()
    shutil.rmtree(
        path, ignore_errors=True
    )  # left by a run stopped between writing it and logging the attempt
    partial.rename(path)  # only complete episodes ever carry the final name


def read_log(task_dir: Path) -> list[dict]:
    """A task's staged attempt records (every shard's log), in attempt order."""
    records = [
        json.loads(line)
        for path in task_dir.glob("attempts*.jsonl")
        for line in path.read_text().splitlines()
    ]
    return sorted(records, key=lambda r: r["attempt"])


def kept_records(log: list[dict], demos: int) -> list[dict]:
    """The attempts a task keeps: its first `demos` successes."""
    return [r for r in log if r["outcome"] == "success"][:demos]


def kept_episodes(task_dir: Path, demos: int) -> list[Path]:
    """The staged episodes a task keeps, in attempt order."""
    return [task_dir / f"episode_{r['attempt']:04d}" for r in kept_records(read_log(task_dir), demos)]


def assemble_task(task_dir: Path, demos: int) -> Path:
    """Aggregate a finished task's kept episodes into one dataset, `<task_dir>/dataset`, once.

    Done per task as tasks finish, because aggregating appends episode videos one at a time (each append
    rewrites the growing file): the suite is then put together from ten files per camera, not 500."""
    dataset = task_dir / "dataset"
    if dataset.exists() and json.loads((dataset / "meta/info.json").read_text())["total_episodes"] == demos:
        return dataset
    _aggregate(kept_episodes(task_dir, demos), dataset.with_name("dataset.partial"))
    shutil.rmtree(dataset, ignore_errors=True)  # assembled by an earlier run asked for fewer demos
    dataset.with_name("dataset.partial").rename(dataset)
    return dataset


def assemble(root: Path, staging: Path, task_ids: list[int], demos: int) -> None:
    """The suite's dataset at `root`: every task's dataset, in task order."""
    _aggregate([assemble_task(staging / f"task_{t:02d}", demos) for t in task_ids], root)


def _aggregate(parts: list[Path], root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    machine.aggregate_local_datasets(parts, root)


def task_summary(task_dir: Path, demos: int) -> dict:
    """The expert's numbers for one task, from its staged attempt log (so any run, or a later one, can report)."""
    log = read_log(task_dir)
    rolled = [r for r in log if "eval_start_distance" in r]
    successes = sum(r["outcome"] == "success" for r in rolled)
    kept = kept_records(log, demos)
    worker_s = sum(r["wall_s"] for r in log)
    return {
        "attempts": len(rolled),
        "successes": successes,
        "expert_success_rate": round(successes / max(len(rolled), 1), 4),
        "demos_kept": len(kept),
        "mean_episode_len": round(float(np.mean([r["length"] for r in kept])), 1) if kept else 0.0,
        "rejected_starts": dict(
            Counter(r["outcome"].split(": ")[1] for r in log if "eval_start_distance" not in r)
        ),
        "failures": dict(Counter(r["outcome"].split(":")[0] for r in rolled if r["outcome"] != "success")),
        "eval_start_distance_mm": _distance_summary([r["eval_start_distance"] for r in kept]),
        # All attempts' time (failures and rejected starts included) per kept demo, on one worker.
        "worker_s": round(worker_s, 1),
        "worker_s_per_demo": round(worker_s / max(len(kept), 1), 1),
        "workers": sorted({r["workers"] for r in log if "workers" in r}),
        "demo_bytes": sum(_folder_bytes(task_dir / f"episode_{r['attempt']:04d}") for r in kept),
        "generator_commits": sorted({r["generator_commit"] for r in log if "generator_commit" in r}),
        "hardware": sorted({r["hardware"] for r in log if "hardware" in r}),  # logs before 2026-12-04 lack it
        "action_noise": sorted({r.get("action_noise", 0.0) for r in rolled}),
        "robot_start_noise": sorted({r.get("robot_start_noise", 0.0) for r in rolled}),
        "until_plan_ends": sorted({r.get("until_plan_ends", False) for r in rolled}),
    }


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _distance_summary(distances: list[float]) -> dict[str, float]:
    if not distances:
        return {}
    mm = 1000 * np.asarray(distances)
    return {"min": round(float(mm.min()), 2), "median": round(float(np.median(mm)), 2)}


def git_commit() -> str:
    """The repository's HEAD, `-dirty` when the generator's own files have uncommitted changes."""
    return machine.git_commit(Path(__file__).parent)


EXPERT_SOURCES = ("scripted_expert.py", "libero_env.py")  # what decides an attempt's trajectory


def expert_digest() -> str:
    """sha256 of the expert's and the env's source: a staging resumes only with the code that made its attempts.

    A commit would refuse every resume across an unrelated commit; this changes only when those files do."""
    digest = hashlib.sha256()
    for name in EXPERT_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def update_report(path: Path, suite_name: str, tasks: dict[str, dict], seed: int, n_tasks: int) -> None:
    """Merge these tasks' numbers into the report; once every task of the suite is in, add the suite's totals.

    Tasks are merged one by one, so a suite can be generated in parts (`--task-ids`), by runs on other days or
    machines: each task names the machines its attempts ran on (`hardware`); the file's own provenance is the last
    run's."""
    report = json.loads(path.read_text()) if path.exists() else {}
    if report.get("seed", seed) != seed:
        raise SystemExit(f"{path} holds demos made with seed {report['seed']}; pass another --report")
    report.update({**machine.provenance(Path(__file__).parent), "seed": seed})
    suite = report.setdefault("suites", {}).setdefault(suite_name, {})
    suite.update(tasks)
    if len(suite) == n_tasks:
        report.setdefault("totals", {})[suite_name] = suite_totals(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def suite_totals(tasks: dict[str, dict]) -> dict:
    """Suite-wide numbers: expert success, worker time per kept demo, the rate at which the machine made demos
    (workers x 3600 / worker seconds per demo) and the kept demos' size on disk."""
    attempts = sum(t["attempts"] for t in tasks.values())
    successes = sum(t["successes"] for t in tasks.values())
    demos = sum(t["demos_kept"] for t in tasks.values())
    worker_s_per_demo = sum(t["worker_s"] for t in tasks.values()) / max(demos, 1)
    workers = sorted({w for t in tasks.values() for w in t["workers"]})
    return {
        "attempts": attempts,
        "successes": successes,
        "expert_success_rate": round(successes / max(attempts, 1), 4),
        "demos_kept": demos,
        "worker_s_per_demo": round(worker_s_per_demo, 1),
        "workers": workers,
        "demos_per_hour": round(3600 * workers[0] / worker_s_per_demo, 1) if len(workers) == 1 else None,
        "demo_bytes": sum(t["demo_bytes"] for t in tasks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--suite", required=True, help="libero_object, libero_spatial, libero_goal or libero_10"
    )
    parser.add_argument(
        "--task-ids",
        help="comma-separated task ids, worked on in this order (default: all tasks of the suite)",
    )
    parser.add_argument("--demos-per-task", type=int, default=DEMOS_PER_TASK)
    parser.add_argument("--max-attempts", type=int, default=0, help="per task; default 3 x demos-per-task")
    parser.add_argument(
        "--root", type=Path, required=True, help="dataset folder (rebuilt from the staged episodes)"
    )
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument(
        "--image-size", type=int, default=256, help="square camera resolution (lerobot/libero: 256)"
    )
    parser.add_argument(
        "--action-noise",
        type=float,
        default=0.0,
        help="std of the Gaussian noise (action units) added to the executed position actions, not to the "
        "recorded ones (DART); 0: none",
    )
    parser.add_argument(
        "--robot-start-noise",
        type=float,
        default=0.0,
        help="std (rad) of the Gaussian noise moving each arm joint off its default pose at every start, as in "
        f"LIBERO's fixed starts ({FIXED_START_JOINT_NOISE}); 0: none, as LIBERO's samplers leave it",
    )
    parser.add_argument(
        "--until-plan-ends",
        action="store_true",
        help="record each episode to the end of the expert's plan (the release and the retreat), not only to the "
        "first step that meets the goal",
    )
    parser.add_argument("--workers", type=int, default=max(1, mp.cpu_count()))
    parser.add_argument(
        "--report", type=Path, help="merge the expert's statistics for this suite into this JSON"
    )
    args = parser.parse_args()

    # Importing LIBERO without a config.yaml prompts on stdin; point at (or ask for) the offline set-up instead.
    os.environ.setdefault("LIBERO_CONFIG_PATH", str(setup_libero.DEFAULT_CONFIG_PATH))
    if not (Path(os.environ["LIBERO_CONFIG_PATH"]) / "config.yaml").exists():
        raise SystemExit(
            f"no LIBERO config at $LIBERO_CONFIG_PATH={os.environ['LIBERO_CONFIG_PATH']}; run `make libero-setup` "
            "(or benchmarks/libero/setup_libero.py) and export the LIBERO_CONFIG_PATH it prints"
        )
    from libero.libero import benchmark

    suite = benchmark.get_benchmark_dict()[args.suite]()
    descriptions = [task.language for task in suite.tasks]
    task_ids = [int(t) for t in args.task_ids.split(",")] if args.task_ids else list(range(len(descriptions)))
    max_attempts = args.max_attempts or 3 * args.demos_per_task
    staging = args.root.parent / ".staging" / args.root.name
    staging.mkdir(parents=True, exist_ok=True)
    lock = (staging / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another run is writing {staging}; wait for it or stop it first") from None
    # Staged episodes without the environment state (recorded before it was) cannot join those with it.
    settings = {
        "suite": args.suite,
        "seed": args.seed,
        "image_size": args.image_size,
        "environment_state": True,
        "action_noise": args.action_noise,
        "robot_start_noise": args.robot_start_noise,
        "until_plan_ends": args.until_plan_ends,
        "expert_sha256": expert_digest(),
    }
    settings_path = staging / "settings.json"
    if settings_path.exists():
        # Staged before the options existed:
        made_with = {"action_noise": 0.0, "robot_start_noise": 0.0, "until_plan_ends": False} | json.loads(
            settings_path.read_text()
        )
        if made_with.get("expert_sha256") != settings["expert_sha256"]:
            raise SystemExit(
                f"{staging} was made by another version of {' or '.join(EXPERT_SOURCES)} (expert_sha256 "
                f"{made_with.get('expert_sha256')}, now {settings['expert_sha256']}): its attempts would mix two "
                "experts; delete it to record again, or use another --root"
            )
        if {key: made_with.get(key) for key in settings} != settings:
            raise SystemExit(f"{staging} was made with {made_with}; use another --root or delete it")
    else:
        settings_path.write_text(json.dumps(settings | {"generator_commit": git_commit()}))

    commit = git_commit()  # once: the code this run loaded, whatever is committed while it runs
    jobs = {
        t: [
            TaskShard(
                args.suite,
                t,
                shard,
                args.workers,
                args.demos_per_task,
                max_attempts,
                args.seed,
                args.image_size,
                args.action_noise,
                args.robot_start_noise,
                args.until_plan_ends,
                staging,
                commit,
            )
            for shard in range(args.workers)
        ]
        for t in task_ids
    }
    start = time.perf_counter()
    tasks = {}
    for task_id in _run_jobs(jobs, args.workers):
        tasks[descriptions[task_id]] = task_summary(staging / f"task_{task_id:02d}", args.demos_per_task)
        if tasks[descriptions[task_id]]["demos_kept"] == args.demos_per_task:  # while the workers go on
            assemble_task(staging / f"task_{task_id:02d}", args.demos_per_task)
        if args.report:  # as each task finishes, so a stopped run keeps what it finished
            update_report(
                args.report,
                args.suite,
                {descriptions[task_id]: tasks[descriptions[task_id]]},
                args.seed,
                len(descriptions),
            )
    wall = time.perf_counter() - start
    if short := {name: t["demos_kept"] for name, t in tasks.items() if t["demos_kept"] < args.demos_per_task}:
        raise SystemExit(
            f"{args.suite}: not enough successful expert episodes for {short}; dataset not assembled"
        )
    assemble(args.root, staging, sorted(task_ids), args.demos_per_task)
    dataset_bytes = _folder_bytes(args.root)
    if args.report and len(task_ids) == len(descriptions):
        report = json.loads(args.report.read_text())
        report["totals"][args.suite]["dataset_bytes"] = dataset_bytes
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{args.suite}: {len(task_ids)} tasks, {dataset_bytes / 1e6:.0f} MB at {args.root}; this run took {wall:.0f}s"
    )


def _run_jobs(jobs: dict[int, list[TaskShard]], workers: int):
    """Run `run_task` on every task's shards and yield each task id as its last shard finishes."""
    if workers == 1:
        for task_id, shards in jobs.items():
            for job in shards:
                run_task(job)
            yield task_id
        return
    # Not multiprocessing.Pool: its daemonic workers cannot start the dataset writer's own processes.
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_task, job): task_id for task_id, shards in jobs.items() for job in shards}
        running = Counter(futures.values())
        for future in as_completed(futures):
            future.result()
            running[futures[future]] -= 1
            if not running[futures[future]]:
                yield futures[future]


if __name__ == "__main__":
    main()
