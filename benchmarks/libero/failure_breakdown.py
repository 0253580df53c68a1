#!/usr/bin/env python
"""Why a LIBERO checkpoint fails: `lerobot-eval`'s own rollouts on the suite's fixed starts (or, with
`--held-out-layouts`, on the starts `lerobot-eval --env.init_states=false` samples), with the simulator's state
read after every step, and each episode given one outcome.

For the tasks that move one object somewhere (a goal of one condition on the BDDL's objects of interest: the
object, then where it goes; all of libero_object and libero_spatial), an episode that did not succeed

- `never reached the object`: the gripper never came within `REACH_M` of it;
- `missed the grasp`: it did, but the object never rose `LIFT_M` above where it started;
- `held it at the target until time ran out`: at the end it is within `NEAR_TARGET_M` (xy) of the target, the
  gripper within `REACH_M` of it and still closing: brought there, never let go;
- `ran out of time holding it`: the object is still lifted at the end;
- `put it down near the target`: lifted, then left within `NEAR_TARGET_M` (xy) of the target, not in it;
- `dropped it elsewhere`: lifted, then left farther away.

Other tasks (drawers, knobs, two objects to move, ...) say how far they got: `<k> of <n> goal conditions held at the
end`, the conditions being the BDDL goal's, judged by LIBERO's own predicates, and every task counts how many
episodes ended with each condition holding. Each episode also records how soft the gripper commands were (the share of |gripper| < 0.5 in LIBERO's ±1 convention), and
`--binarize-gripper` evaluates the same checkpoint with every gripper command snapped to ±1, as upstream's newer
LIBERO policies do at inference: the breakdowns side by side say whether soft commands cost grasps.

`--swap-instruction` checks language grounding: the policy is told another task's sentence, one that names another
object of the same scene, and each episode records which object it picked up (the one lifted highest, if any rose
`LIFT_M`): the named one, the task's own, another one, or nothing; and whether the named task's goal was met at some
step, or the task's own (judged by LIBERO's predicates; libero_goal's tasks share one scene, so there every swapped
task's goal, a drawer opened or the stove turned on as well as an object moved, can be judged). A policy that reads
the sentence follows it.

The episodes are the ones `lerobot-eval --eval.batch_size=1 --seed=<seed>` runs (episode i: seed + i, fixed
start i, or with `--held-out-layouts` the layout LIBERO's placement samplers draw from seed + i, which no
demonstration used), through the same `rollout`, environment and processors, split over `--workers` processes.
Each episode also records where its object and target started, so the two kinds of start can be compared.

`--default-robot-pose` is a diagnostic for the gap between the two: LIBERO's fixed starts hold the arm off its
default joint pose (each joint by N(0, 0.02^2) rad, millimetres to centimetres at the hand), while every sampled
start, and so every demonstration recorded without `record_demos.py --robot-start-noise`, begins at that pose
exactly. With the option, each fixed start's objects are kept and the arm is put back at the default pose before
the policy acts.

    python -m benchmarks.libero.failure_breakdown outputs/libero_object_task0/train/checkpoints/last/pretrained_model \\
        --suite libero_object --tasks 0 --episodes-per-task 20 --output outputs/libero_object_task0/failures.json
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmarks import machine
from benchmarks.libero import libero_env, setup_libero
from benchmarks.libero.run_libero import EVAL_IMAGE_SIZE, EVAL_SEED

REACH_M = 0.05  # gripper (end-effector site) to the object's body origin
LIFT_M = 0.03
NEAR_TARGET_M = 0.10
SOFT_GRIPPER = 0.5
SUCCESS = "success"


@dataclass
class Trace:
    """The simulator's state after the reset and after every step of one episode."""

    eef: list[np.ndarray]
    object: list[np.ndarray]
    target: list[np.ndarray]
    gripper_commands: list[float]
    heights: list[dict[str, float]] = field(default_factory=list)  # every movable object's
    conditions_held: list[list[bool]] = field(default_factory=list)  # each goal condition's truth
    named_goal_met: bool = False  # with a swapped instruction: the named task's goal held at some step


@dataclass
class Episode:
    """What the breakdown keeps of one episode."""

    outcome: str
    soft_gripper_share: float
    picked: str | None  # the object lifted highest, if any (`picked_object`)
    start: dict[str, list[float]]  # where the object and its target started
    conditions_held: list[bool]  # each goal condition's truth at the end
    named_goal_met: bool | None = None  # with a swapped instruction: the named task's goal held at some step


def outcome(trace: Trace, success: bool, pick_and_place: bool) -> str:
    """One outcome per episode (see the module docstring)."""
    if success:
        return SUCCESS
    if not pick_and_place:
        held = trace.conditions_held[-1]
        return f"{sum(held)} of {len(held)} goal conditions held at the end"
    eef, obj, target = (np.asarray(x) for x in (trace.eef, trace.object, trace.target))
    if np.linalg.norm(eef - obj, axis=1).min() > REACH_M:
        return "never reached the object"
    lifted = obj[:, 2] > obj[0, 2] + LIFT_M
    if not lifted.any():
        return "missed the grasp"
    at_target = np.linalg.norm(obj[-1, :2] - target[-1, :2]) <= NEAR_TARGET_M
    in_hand = np.linalg.norm(eef[-1] - obj[-1]) <= REACH_M and trace.gripper_commands[-1] > 0  # +1 closes
    if at_target and in_hand:
        return "held it at the target until time ran out"
    if lifted[-1]:
        return "ran out of time holding it"
    if at_target:
        return "put it down near the target"
    return "dropped it elsewhere"


def picked_object(trace: Trace) -> str | None:
    """The object lifted highest above where it started, if any rose `LIFT_M`."""
    rise = {
        name: max(step[name] for step in trace.heights) - trace.heights[0][name] for name in trace.heights[0]
    }
    name = max(rise, key=rise.__getitem__, default=None)
    return name if name is not None and rise[name] > LIFT_M else None


def swapped_instruction(
    suite: str, task_id: int, scene_objects: set[str], judgeable: set[str]
) -> tuple[str, str, list[list[str]] | None]:
    """The instruction of another task of the suite whose object to move is also in this task's scene, that
    object, and that task's goal if every name in it is `judgeable` in this scene (else None): the sentence to give
    the policy instead of its own, and what following it means."""
    from libero.libero import benchmark
    from libero.libero.envs.bddl_utils import robosuite_parse_problem

    tasks = benchmark.get_benchmark_dict()[suite]()
    for other in range(tasks.n_tasks):
        problem = robosuite_parse_problem(tasks.get_task_bddl_file_path(other))
        named = problem["obj_of_interest"][0]
        if other != task_id and named in scene_objects:
            goal = problem["goal_state"]
            names = {name for _, *args in goal for name in args}
            return tasks.get_task(other).language, named, goal if names <= judgeable else None
    raise SystemExit(f"no other task of {suite} names an object of task {task_id}'s scene")


def reset_to_default_robot_pose(env) -> None:
    """Make `env.reset` (a LeRobot `LiberoEnv`) put the arm at robosuite's noise-free default joint pose, the one
    every sampled start begins from, after it has set and settled a fixed start (see `--default-robot-pose`)."""
    reset = env.reset

    def reset_with_default_pose(seed=None, **kwargs):
        _, info = reset(seed=seed, **kwargs)
        return libero_env.place_arm(env), info

    env.reset = reset_with_default_pose


def snap_gripper(action: torch.Tensor) -> torch.Tensor:
    """The actions (B, 7) with the gripper command (last) snapped to ±1: LIBERO's open (-1) or close (+1)."""
    snapped = action.clone()
    snapped[:, -1] = torch.where(action[:, -1] >= 0, 1.0, -1.0)
    return snapped


def soft_gripper_share(commands: list[float]) -> float:
    return float(np.mean(np.abs(commands) < SOFT_GRIPPER)) if commands else 0.0


def evaluate_task(
    checkpoint: Path,
    suite: str,
    task_id: int,
    episodes: int,
    binarize_gripper: bool = False,
    swap_instruction: bool = False,
    held_out_layouts: bool = False,
    default_robot_pose: bool = False,
    episode_length: int | None = None,
    first_episode: int = 0,
) -> dict:
    """Episodes `first_episode`, ... of one task (`episodes` of them) with their outcomes; `episode_length`
    (steps) shortens them, e.g. for a test. With `swap_instruction`, the policy is told another task's sentence
    naming another object of the same scene, and each episode says which object it picked up. With
    `held_out_layouts`, episode i starts from the layout sampled from seed + i instead of fixed start i; with
    `default_robot_pose`, from fixed start i's objects and the arm at its default pose."""
    from lerobot.envs.configs import LiberoEnv
    from lerobot.envs.factory import make_env, make_env_pre_post_processors
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.policies.my_policy import MyPolicy
    from lerobot.scripts.lerobot_eval import rollout

    env_config = LiberoEnv(
        task=suite,
        task_ids=[task_id],
        observation_height=EVAL_IMAGE_SIZE,
        observation_width=EVAL_IMAGE_SIZE,
        episode_length=episode_length,
        init_states=not held_out_layouts,
    )
    vec = make_env(env_config, n_envs=1)[suite][task_id]
    policy = MyPolicy.from_pretrained(checkpoint).eval()
    preprocessor, postprocessor = make_pre_post_processors(policy.config, pretrained_path=str(checkpoint))
    env_preprocessor, env_postprocessor = make_env_pre_post_processors(env_config, policy.config)
    env = vec.envs[0]
    env._ensure_env()  # builds the simulation without a reset, which would move on to the next fixed start
    env.init_state_id = first_episode  # lerobot-eval's episode i starts from fixed start i
    if default_robot_pose:
        reset_to_default_robot_pose(env)
    scene_env = libero_env.Scene(env).env
    original, movable = scene_env.parsed_problem["obj_of_interest"], set(scene_env.objects_dict)
    goal = scene_env.parsed_problem["goal_state"]
    pick_and_place = len(goal) == 1 and len(original) >= 2 and original[0] in scene_env.obj_body_id
    grounding, named_goal = {}, None
    if swap_instruction:
        instruction, named, named_goal = swapped_instruction(
            suite, task_id, movable - {original[0]}, set(scene_env.object_states_dict)
        )
        env.task_description = instruction  # what lerobot-eval's rollout gives the policy as `task`
        grounding = {"instruction": instruction, "named_object": named, "task_object": original[0]}
        if named_goal is not None:
            grounding["named_goal"] = [" ".join(condition) for condition in named_goal]
    episodes_kept = []
    for episode in range(first_episode, first_episode + episodes):
        trace = Trace([], [], [], [])

        def record_state(vector_env, trace=trace) -> None:
            scene = libero_env.Scene(vector_env.envs[0])
            state = libero_env.environment_state(scene).reshape(libero_env.ENVIRONMENT_STATE_SLOTS, 3)
            trace.eef.append(scene.eef_pos())
            trace.object.append(state[0])
            trace.target.append(state[1])
            trace.heights.append({name: float(scene.body_pos(name)[2]) for name in movable})
            trace.conditions_held.append([scene.holds(condition) for condition in goal])
            if named_goal is not None:
                trace.named_goal_met |= all(scene.holds(condition) for condition in named_goal)

        def act(action: torch.Tensor, trace=trace) -> torch.Tensor:
            """The postprocessor, then the gripper command recorded (and snapped to ±1 if asked)."""
            action = postprocessor(action)
            trace.gripper_commands.append(float(action[0, -1]))
            return snap_gripper(action) if binarize_gripper else action

        with torch.no_grad():
            result = rollout(
                vec,
                policy,
                env_preprocessor,
                env_postprocessor,
                preprocessor,
                act,  # type: ignore[arg-type]  # called like the postprocessor pipeline it wraps
                seeds=[EVAL_SEED + episode],
                render_callback=record_state,
            )
        success = bool(result["success"][0].any())
        start = {
            name: [round(float(x), 4) for x in xyz[0]]
            for name, xyz in (("object", trace.object), ("target", trace.target))
        }
        episodes_kept.append(
            Episode(
                outcome(trace, success, pick_and_place),
                soft_gripper_share(trace.gripper_commands),
                picked_object(trace),
                start,
                trace.conditions_held[-1],
                trace.named_goal_met if named_goal is not None else None,
            )
        )
    vec.close()
    return task_result(env_config.task, grounding, [" ".join(c) for c in goal], episodes_kept)


def task_result(task: str, grounding: dict, conditions: list[str], episodes: list[Episode]) -> dict:
    """One task's results from its episodes, whose goal is `conditions` (kept per episode, so the results of
    several workers' episodes merge, and a failure can be traced to its start)."""
    outcomes, picked = [e.outcome for e in episodes], [e.picked for e in episodes]
    result = {
        "task": task,
        "episodes": len(episodes),
        "success_rate": round(outcomes.count(SUCCESS) / len(episodes), 4),
        "outcomes": dict(Counter(outcomes)),
        "per_episode": outcomes,
        "soft_gripper_share": round(float(np.mean([e.soft_gripper_share for e in episodes])), 4),
        "per_episode_soft_gripper_share": [e.soft_gripper_share for e in episodes],
        "per_episode_picked": picked,
        "per_episode_start": [e.start for e in episodes],
        # How many episodes ended with each goal condition holding.
        "goal_conditions_held_at_end": {
            condition: sum(e.conditions_held[i] for e in episodes) for i, condition in enumerate(conditions)
        },
        "per_episode_conditions_held": [e.conditions_held for e in episodes],
        "per_episode_named_goal_met": [e.named_goal_met for e in episodes],
    }
    if grounding:
        which = {
            grounding["named_object"]: "the named object",
            grounding["task_object"]: "the task's own object",
        }
        choices = [which.get(name, "another object") if name else "nothing" for name in picked]
        result["language_grounding"] = {**grounding, "picked": dict(Counter(choices))}
        if "named_goal" in grounding:
            result["language_grounding"]["goal_met"] = {
                "the named task's": sum(bool(e.named_goal_met) for e in episodes),
                "the task's own": outcomes.count(SUCCESS),
            }
    return result


def merged(parts: list[dict]) -> dict:
    """One task's result from the results of consecutive runs of its episodes, in episode order."""
    grounding = {
        k: v for k, v in parts[0].get("language_grounding", {}).items() if k not in ("picked", "goal_met")
    }
    episodes = [
        Episode(*fields)
        for part in parts
        for fields in zip(
            part["per_episode"],
            part["per_episode_soft_gripper_share"],
            part["per_episode_picked"],
            part["per_episode_start"],
            part["per_episode_conditions_held"],
            part["per_episode_named_goal_met"],
            strict=True,
        )
    ]
    return task_result(parts[0]["task"], grounding, list(parts[0]["goal_conditions_held_at_end"]), episodes)


def evaluate_tasks(
    checkpoint: Path, suite: str, task_ids: list[int], episodes: int, workers: int, **options
) -> dict[int, dict]:
    """Every task's episodes, split into consecutive runs over `workers` processes, one thread each (20 episodes
    on 2 workers took 9 min here, ~27 s each, against ~33 s in `lerobot-eval` with 2 envs)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    runs = [
        (task_id, int(chunk[0]), len(chunk))
        for task_id in task_ids
        for chunk in np.array_split(np.arange(episodes), workers)
        if len(chunk)
    ]
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=torch.set_num_threads, initargs=(1,)
    ) as pool:
        futures = [
            pool.submit(evaluate_task, checkpoint, suite, task_id, n, first_episode=int(first), **options)
            for task_id, first, n in runs
        ]
        parts = [future.result() for future in futures]
    return {
        task_id: merged([part for (t, _, _), part in zip(runs, parts, strict=True) if t == task_id])
        for task_id in task_ids
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="a my_policy pretrained_model folder")
    parser.add_argument("--suite", required=True)
    parser.add_argument("--tasks", required=True, type=lambda s: [int(t) for t in s.split(",")])
    parser.add_argument("--episodes-per-task", type=int, default=10)
    parser.add_argument(
        "--binarize-gripper", action="store_true", help="snap every gripper command to ±1 before the env"
    )
    parser.add_argument(
        "--swap-instruction",
        action="store_true",
        help="tell the policy another task's sentence naming another object of the scene; report what it picks",
    )
    parser.add_argument(
        "--held-out-layouts",
        action="store_true",
        help="start from layouts LIBERO samples from the episodes' seeds (no demo used them), not the fixed starts",
    )
    parser.add_argument(
        "--default-robot-pose",
        action="store_true",
        help="diagnostic: the fixed starts' objects with the arm at the default pose every demonstration starts from",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes the episodes are split over (one thread each)"
    )
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    if args.held_out_layouts and args.default_robot_pose:
        parser.error(
            "--default-robot-pose applies to the fixed starts; sampled ones already begin at that pose"
        )
    os.environ.setdefault("LIBERO_CONFIG_PATH", str(setup_libero.DEFAULT_CONFIG_PATH))

    tasks = evaluate_tasks(
        args.checkpoint,
        args.suite,
        args.tasks,
        args.episodes_per_task,
        args.workers,
        binarize_gripper=args.binarize_gripper,
        swap_instruction=args.swap_instruction,
        held_out_layouts=args.held_out_layouts,
        default_robot_pose=args.default_robot_pose,
    )
    outcomes = sum((Counter(t["outcomes"]) for t in tasks.values()), Counter())
    machine.write_json(
        args.output,
        {
            "checkpoint": str(args.checkpoint),
            "train_step": machine.checkpoint_step(args.checkpoint),  # `last` moves on as training goes on
            "suite": args.suite,
            "seed": EVAL_SEED,
            "binarize_gripper": args.binarize_gripper,
            "swap_instruction": args.swap_instruction,
            "held_out_layouts": args.held_out_layouts,
            "default_robot_pose": args.default_robot_pose,
            "outcomes": dict(outcomes),
            "tasks": tasks,
            **machine.provenance(),
        },
    )
    print(f"{args.output}: {dict(outcomes)}")


if __name__ == "__main__":
    main()
