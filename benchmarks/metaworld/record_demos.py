"""Record Meta-World scripted-expert demonstrations as a local LeRobotDataset v3.

Each frame is the observation LeRobot's own `MetaworldEnv` (the env `lerobot-eval --env.type=metaworld` builds)
returns, so training data match evaluation: `observation.image` (480x480x3, already un-flipped by the env),
`observation.state` (4-D hand position + gripper), `action` (4-D, clipped to the env's [-1, 1]), the
task sentence per frame, and the env's fps. The expert (`metaworld.policies`) reads the simulator's full state.
Only successful episodes are kept.

`observation.environment_state` holds the privileged positions that only the camera shows the policy (the task's
object(s) and goal, 9-D). The env never returns it, so an evaluated policy cannot read it; my_policy can learn to
predict it from its camera at training time (`environment_state_loss_weight`); other policies ignore it unless
configured to use it.

The camera is stored as video, like the Hub's LeRobot datasets, not as PNG frames: in lerobot 0.6.1 every
`delta_timestamps` query of an image-dtype dataset decodes the images of all the rows it reads
(huggingface/lerobot#4392): an ACT sample, with its 100-step action chunk, decodes 101 frames. The codec's loss
is below what one step changes in the frame (tests/policies/my_policy/test_end_to_end.py); the state is exact.

Seeds start at `--seed` (default 100000), far from lerobot-eval's
(`--seed`, default 1000, + episode index), so no evaluation start is a training start.

    python -m benchmarks.metaworld.record_demos --tasks reach-v3 --demos-per-task 10 --root data/metaworld/reach
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from lerobot.datasets import LeRobotDataset
from lerobot.envs.configs import MetaworldEnv as MetaworldEnvConfig
from lerobot.envs.metaworld import TASK_DESCRIPTIONS, MetaworldEnv
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGE, OBS_STATE

IMAGE_SIZE = 480  # what MetaworldEnv renders by default, hence what lerobot-eval feeds the policy


def dataset_features() -> dict:
    return {
        OBS_IMAGE: {
            "dtype": "video",
            "shape": (IMAGE_SIZE, IMAGE_SIZE, 3),
            "names": ["height", "width", "channels"],
        },
        OBS_STATE: {"dtype": "float32", "shape": (4,), "names": ["hand_x", "hand_y", "hand_z", "gripper"]},
        OBS_ENV_STATE: {"dtype": "float32", "shape": (9,), "names": ENVIRONMENT_STATE_NAMES},
        ACTION: {"dtype": "float32", "shape": (4,), "names": ["dx", "dy", "dz", "grip"]},
    }


ENVIRONMENT_STATE_NAMES = [f"{body}_{axis}" for body in ("object", "object2", "goal") for axis in "xyz"]


def environment_state(simulator_observation: np.ndarray) -> np.ndarray:
    """The objects' and the goal's positions from Meta-World's 39-D observation: hand (0:3), gripper (3),
    object 1 position (4:7) and quaternion (7:11), object 2 position (11:14) and quaternion (14:18), the same
    18 values of the previous frame, goal (36:39). Zeros where a task has no second object."""
    obs = simulator_observation
    return np.concatenate([obs[4:7], obs[11:14], obs[36:39]]).astype(np.float32)


def make_env(task: str) -> MetaworldEnv:
    config = MetaworldEnvConfig(task=task)
    return MetaworldEnv(task=task, **config.gym_kwargs)


def rollout_expert(env: MetaworldEnv, seed: int, max_steps: int) -> tuple[list[dict], bool]:
    """Run the scripted expert from `env.reset(seed)`; return the frames (observation + action) and success."""
    observation, _ = env.reset(seed=seed)
    frames = []
    for _ in range(max_steps):
        state = env._env._get_obs()  # privileged simulator state for the expert only; never recorded
        action = np.clip(env.expert_policy.get_action(state), -1.0, 1.0).astype(np.float32)
        frames.append(
            {
                OBS_IMAGE: observation["pixels"],
                OBS_STATE: observation["agent_pos"].astype(np.float32),
                OBS_ENV_STATE: environment_state(state),
                ACTION: action,
            }
        )
        observation, _, terminated, truncated, info = env.step(action)
        if info["is_success"]:
            return frames, True
        if terminated or truncated:
            break
    return frames, False


def generate(
    tasks: list[str], demos_per_task: int, root: Path, seed: int, max_steps: int, max_attempts: int
) -> dict:
    """Write the dataset at `root` and return the expert's statistics per task."""
    if root.exists():
        shutil.rmtree(root)
    dataset = LeRobotDataset.create(
        repo_id=f"local/{root.name}",
        fps=MetaworldEnvConfig().fps,
        features=dataset_features(),
        root=root,
        use_videos=True,
        streaming_encoding=True,  # frames go to the encoder as they are added, no PNG round trip
        # Room for a whole episode: the streaming encoder drops (and only logs) a frame it cannot queue within
        # 0.1 s, which shifts every later frame of that video by one step (seen once on a busy machine).
        encoder_queue_maxsize=max_steps,
    )
    report = {}
    for task in tasks:
        env = make_env(task)
        description = TASK_DESCRIPTIONS[task.replace("metaworld-", "")]
        attempts = kept = 0
        lengths = []
        start = time.perf_counter()
        while kept < demos_per_task and attempts < max_attempts * demos_per_task:
            frames, success = rollout_expert(env, seed + attempts, max_steps)
            attempts += 1
            if not success:
                continue
            for frame in frames:
                dataset.add_frame({**frame, "task": description})
            dataset.save_episode()
            kept += 1
            lengths.append(len(frames))
        env.close()
        report[task] = {
            "attempts": attempts,
            "successes": kept,
            "expert_success_rate": kept / attempts if attempts else 0.0,
            "demos_kept": kept,
            "mean_episode_len": float(np.mean(lengths)) if lengths else 0.0,
            "wall_s": round(time.perf_counter() - start, 1),
        }
        print(
            f"{task}: {kept}/{attempts} expert successes, mean length {report[task]['mean_episode_len']:.0f}"
        )
        if kept < demos_per_task:
            raise RuntimeError(f"{task}: only {kept} successful expert episodes in {attempts} attempts")
    dataset.finalize()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", required=True, help="comma-separated Meta-World tasks, e.g. reach-v3,push-v3"
    )
    parser.add_argument("--demos-per-task", type=int, default=10)
    parser.add_argument("--root", type=Path, required=True, help="dataset folder (overwritten)")
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument("--max-steps", type=int, default=500, help="MetaworldEnv's episode length")
    parser.add_argument(
        "--max-attempts", type=int, default=3, help="give up after this many attempts per demo"
    )
    parser.add_argument("--report", type=Path, help="write the expert statistics as JSON here")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    report = generate(tasks, args.demos_per_task, args.root, args.seed, args.max_steps, args.max_attempts)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({"seed": args.seed, "tasks": report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
