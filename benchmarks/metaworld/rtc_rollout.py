"""Chunk boundaries with and without Real-Time Chunking (RTC), in Meta-World rollouts of a my_policy checkpoint.

A robot keeps acting while the next chunk is computed. This replays that schedule in simulation: every
`n_action_steps` env steps the policy predicts a chunk from the current observation, and the first
`--inference-delay` actions of the new chunk are skipped, because during inference the robot executed the rest of
the previous chunk instead (as `lerobot-rollout --inference.type=rtc` does). With RTC the new chunk is guided
toward that leftover (`prev_chunk_left_over`, `inference_delay`); without, it is not. At each switch the jump
is the distance between the last action executed from the old chunk and the first one from the new chunk
(action units, max over dimensions). Episodes start from the seeds `lerobot-eval --seed` would use.

    python -m benchmarks.metaworld.rtc_rollout <checkpoint>/pretrained_model --task drawer-open-v3 \\
        --episodes 10 --output benchmarks/results/rtc_metaworld.json
"""

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks import machine
from benchmarks.metaworld.record_demos import make_env
from lerobot.envs.metaworld import TASK_DESCRIPTIONS
from lerobot.envs.utils import preprocess_observation
from lerobot.policies.factory import make_pre_post_processors
from lerobot.policies.my_policy import MyPolicy
from lerobot.policies.rtc import RTCConfig


@dataclass(frozen=True)
class Mode:
    name: str
    num_inference_steps: int
    rtc: RTCConfig | None


def run_episode(policy, pre, post, env, task: str, seed: int, delay: int, max_steps: int) -> dict:
    """One episode under the delayed-switch schedule; the jumps at each chunk switch and the outcome."""
    observation, _ = env.reset(seed=seed)
    torch.manual_seed(seed)
    n = policy.config.n_action_steps
    executed: list[np.ndarray] = []
    jumps: list[float] = []
    leftover = None  # normalized actions of the current chunk not executed yet
    success: bool | None = False
    while len(executed) < max_steps and success is False:
        batch = preprocess_observation({k: v[None] for k, v in observation.items()})
        batch = pre({**batch, "task": [task]})
        rtc = {"inference_delay": delay, "prev_chunk_left_over": leftover} if leftover is not None else {}
        with torch.no_grad():
            chunk = policy.predict_action_chunk(batch, **rtc)[0]
        start = 0
        if leftover is not None:
            # While the chunk was computed, the robot executed `delay` more actions of the old one.
            for action in leftover[0, :delay]:
                observation, success = act(env, post, action, executed)
                if success is not False:
                    break
            if success is not False:
                break
            jumps.append(float(np.abs(to_env(post, chunk[delay]) - executed[-1]).max()))
            start = delay
        for action in chunk[start : start + n]:
            observation, success = act(env, post, action, executed)
            if success is not False or len(executed) >= max_steps:
                break
        leftover = chunk[start + n :].unsqueeze(0)
    return {"success": bool(success), "steps": len(executed), "jumps": jumps}


def to_env(post, action: torch.Tensor) -> np.ndarray:
    return post(action.unsqueeze(0))[0].numpy()


def act(env, post, action: torch.Tensor, executed: list) -> tuple[dict, bool | None]:
    """Execute one action: the next observation and True on success, None when the env ends the episode."""
    command = to_env(post, action)
    executed.append(command)
    observation, _, terminated, truncated, info = env.step(command)
    if info.get("is_success", False):
        return observation, True
    return observation, None if terminated or truncated else False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--task", default="drawer-open-v3")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument(
        "--seed", type=int, default=1000, help="episode i starts from seed + i, as lerobot-eval"
    )
    parser.add_argument("--inference-delay", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/rtc_metaworld.json"))
    args = parser.parse_args()

    modes = [
        Mode("4_steps", 4, None),
        Mode("4_steps_rtc", 4, RTCConfig(execution_horizon=8, max_guidance_weight=10.0)),
        Mode("1_step", 1, None),
        Mode("1_step_rtc", 1, RTCConfig(execution_horizon=8, max_guidance_weight=1.0)),
    ]
    task = TASK_DESCRIPTIONS[args.task]
    results: dict = {
        "checkpoint": str(args.checkpoint),
        "task": args.task,
        "episodes": args.episodes,
        "seed": args.seed,
        "inference_delay": args.inference_delay,
        **machine.provenance(),
        "modes": {},
    }
    env = make_env(args.task)
    for mode in modes:
        policy = MyPolicy.from_pretrained(args.checkpoint).eval()
        policy.config.num_inference_steps = mode.num_inference_steps
        policy.config.rtc_config = mode.rtc
        policy.init_rtc_processor()
        pre, post = make_pre_post_processors(policy.config, pretrained_path=str(args.checkpoint))
        start = time.perf_counter()
        episodes = [
            run_episode(policy, pre, post, env, task, args.seed + i, args.inference_delay, args.max_steps)
            for i in range(args.episodes)
        ]
        jumps = [j for e in episodes for j in e["jumps"]]
        results["modes"][mode.name] = {
            "rtc": None
            if mode.rtc is None
            else {
                "execution_horizon": mode.rtc.execution_horizon,
                "max_guidance_weight": mode.rtc.max_guidance_weight,
            },
            "success_rate": sum(e["success"] for e in episodes) / len(episodes),
            "successes": [e["success"] for e in episodes],
            "switches": len(jumps),
            "jump_mean": round(float(np.mean(jumps)), 4),
            "jump_max": round(float(np.max(jumps)), 4),
            "wall_s": round(time.perf_counter() - start, 1),
        }
        print(mode.name, json.dumps(results["modes"][mode.name]), flush=True)
    env.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
