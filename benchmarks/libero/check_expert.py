#!/usr/bin/env python
"""How well the scripted expert does on LIBERO suites, measured without rendering or recording anything.

Same env, starts (seeds), start rejection rules and expert as `record_demos.py` (both use `libero_env.py`), so
its outcomes are the ones recording would get for the same attempts; only the cameras are off during the episode.
An attempt then costs a few seconds instead of ~30 s, which makes this the tool to develop the expert with and to
see how it does on a suite before spending hours recording it.

    python -m benchmarks.libero.check_expert --suites libero_goal,libero_10 --attempts 10 \\
        --report benchmarks/results/libero_expert.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks import machine
from benchmarks.libero import libero_env, setup_libero


def check_task(
    suite_name: str,
    task_id: int,
    attempts: int,
    seed: int,
    action_noise: float = 0.0,
    until_plan_ends: bool = False,
) -> dict:
    """The expert's outcomes on the first `attempts` usable starts of one task (rejected starts are skipped),
    executing its actions with `action_noise` and judged as `record_demos.py --action-noise [--until-plan-ends]`
    would judge them."""
    env, _ = libero_env.make_env(suite_name, task_id, image_size=128)  # cameras only render at reset
    env.reset(seed=seed)
    eval_starts = libero_env.eval_start_positions(env, suite_name, task_id)
    to_plan_end = libero_env.to_plan_end(suite_name, task_id, until_plan_ends)
    outcomes, lengths, rejected, attempt = Counter(), [], 0, 0
    start = time.perf_counter()
    while sum(outcomes.values()) < attempts and attempt < 3 * attempts and not machine.parent_exited():
        attempt_seed = libero_env.attempt_seed(seed, task_id, attempt)
        observation, _ = env.reset(seed=attempt_seed)
        attempt += 1
        if libero_env.start_rejection(eval_starts, env)[0]:
            rejected += 1
            continue
        _, outcome, steps = libero_env.rollout(
            env, observation, None, action_noise, noise_seed=attempt_seed, until_plan_ends=to_plan_end
        )
        outcomes[re.sub(r" \[[^]]*\]", "", outcome)] += 1  # which skill failed how, without coordinates
        if outcome == "success":
            lengths.append(steps)
    env.close()
    n = sum(outcomes.values())
    print(f"{suite_name} task {task_id}: {outcomes['success']}/{n} ({dict(outcomes)})", flush=True)
    return {
        "attempts": n,
        "successes": outcomes["success"],
        "expert_success_rate": round(outcomes["success"] / max(n, 1), 4),
        "failures": {k: v for k, v in outcomes.items() if k != "success"},
        "rejected_starts": rejected,
        "mean_episode_len": round(float(np.mean(lengths)), 1) if lengths else 0.0,
        "worker_s": round(time.perf_counter() - start, 1),
        **(
            {"judged_at_first_success": libero_env.GOAL_HOLDS_ONLY_BEFORE_PLAN_ENDS[(suite_name, task_id)]}
            if until_plan_ends and not to_plan_end
            else {}
        ),
    }


def merged_suite(previous: dict | None, settings: dict, tasks: dict[str, dict]) -> dict:
    """A suite's report entry with `tasks` merged in, each task saying what made it (`git_commit`, `hardware`), so
    re-checking some tasks (`--task-ids`) after an expert change replaces only theirs; totals are over every task
    in the entry. An entry made with other `settings` is replaced, not mixed with."""
    kept = {}
    if previous and all(previous.get(key, False) == value for key, value in settings.items()):
        # Entries written before tasks carried their own provenance had it once, for the whole suite.
        shared = {
            key: previous[key] for key in ("git_commit", "hardware") if isinstance(previous.get(key), str)
        }
        kept = {name: {**shared, **task} for name, task in previous["tasks"].items()}
    tasks = kept | tasks
    successes = sum(t["successes"] for t in tasks.values())
    attempts = sum(t["attempts"] for t in tasks.values())
    return {
        **settings,
        "git_commits": sorted({t["git_commit"] for t in tasks.values()}),
        "hardware": sorted({t["hardware"] for t in tasks.values()}),
        "expert_success_rate": round(successes / max(attempts, 1), 4),
        "tasks_checked": len(tasks),
        "tasks_at_or_above_80_percent": sum(t["expert_success_rate"] >= 0.8 for t in tasks.values()),
        "tasks": tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--suites", required=True, type=lambda s: s.split(","), help="e.g. libero_goal,libero_10"
    )
    parser.add_argument(
        "--task-ids", help="comma-separated task ids, the same for every suite (default: all)"
    )
    parser.add_argument("--attempts", type=int, default=10, help="usable starts per task")
    parser.add_argument("--seed", type=int, default=100_000, help="record_demos' default: the same starts")
    parser.add_argument(
        "--action-noise", type=float, default=0.0, help="as record_demos.py's: noise on the executed actions"
    )
    parser.add_argument(
        "--until-plan-ends",
        action="store_true",
        help="as record_demos.py's: judge each attempt at the end of the expert's plan, not at its first success",
    )
    parser.add_argument("--workers", type=int, default=max(1, mp.cpu_count()))
    parser.add_argument("--report", type=Path, required=True, help="JSON to merge each task's results into")
    args = parser.parse_args()

    os.environ.setdefault("LIBERO_CONFIG_PATH", str(setup_libero.DEFAULT_CONFIG_PATH))
    from libero.libero import benchmark

    jobs = []
    for suite_name in args.suites:
        descriptions = [task.language for task in benchmark.get_benchmark_dict()[suite_name]().tasks]
        task_ids = [int(t) for t in args.task_ids.split(",")] if args.task_ids else range(len(descriptions))
        jobs += [(suite_name, t, descriptions[t]) for t in task_ids]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
        check = partial(
            check_task,
            attempts=args.attempts,
            seed=args.seed,
            action_noise=args.action_noise,
            until_plan_ends=args.until_plan_ends,
        )
        results = list(pool.map(check, *zip(*[job[:2] for job in jobs], strict=True)))
    report = json.loads(args.report.read_text()) if args.report.exists() else {"suites": {}}
    settings = {
        "seed": args.seed,
        "attempts_per_task": args.attempts,
        "action_noise": args.action_noise,
        "until_plan_ends": args.until_plan_ends,
    }
    made_by = machine.provenance(Path(__file__).parent)
    for suite_name in args.suites:
        tasks = {
            job[2]: {**result, **made_by}
            for job, result in zip(jobs, results, strict=True)
            if job[0] == suite_name
        }
        suite = merged_suite(report["suites"].get(suite_name), settings, tasks)
        report["suites"][suite_name] = suite
        successes = sum(t["successes"] for t in tasks.values())
        attempts = sum(t["attempts"] for t in tasks.values())
        print(
            f"{suite_name}: expert {successes}/{attempts} on the tasks checked now; "
            f"{100 * suite['expert_success_rate']:.1f}% over the {suite['tasks_checked']} tasks in {args.report}"
        )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.report}: {len(jobs)} tasks in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
