#!/usr/bin/env python
"""How well a my_policy checkpoint's environment-state head locates the objects from its camera, on the
demonstrations it was trained on and on the evaluation's starts, which it never saw.

The head (`environment_state_loss_weight` > 0) predicts the objects' and the goal's positions
(`observation.environment_state`, written by `record_demos.py`) from the camera tokens. A head that only
memorised its demonstrations' layouts is right on their frames and wrong on new layouts; the policy then acts on a
wrong estimate. The error is the mean Euclidean distance (cm) per body (object, object2, goal), with the EMA
weights, on `--frames` random dataset frames and on the first frame of `lerobot-eval`'s episodes (seeds
`--seed` + i).

    python -m benchmarks.metaworld.state_estimate <checkpoint> --dataset-root data/metaworld/bench/push-v3-20 \\
        --task push-v3 --output benchmarks/results/metaworld_state_estimate/push-v3_environment_state1.0.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from benchmarks.metaworld.diagnostics import Diagnostic
from benchmarks.metaworld.record_demos import ENVIRONMENT_STATE_NAMES, environment_state, make_env
from lerobot.utils.constants import OBS_ENV_STATE

BODIES = list(
    dict.fromkeys(name.rsplit("_", 1)[0] for name in ENVIRONMENT_STATE_NAMES)
)  # object, object2, goal


@torch.no_grad()
def estimate(policy, preprocessor, batch: dict) -> np.ndarray:
    """The head's estimate (B, 9) for a preprocessed batch, in the simulator's units (normalization undone)."""
    model = policy.inference_model()
    if model.environment_state_head is None:
        raise SystemExit("the checkpoint has no environment-state head (environment_state_loss_weight is 0)")
    memory, _ = model.encode_observation(batch)
    return in_simulator_units(model.environment_state_head(memory[:, : model.n_camera_tokens]), preprocessor)


def in_simulator_units(normalized: torch.Tensor, preprocessor) -> np.ndarray:
    """Environment states (B, 9) with the preprocessor's mean-std normalization undone."""
    (normalizer,) = (step for step in preprocessor.steps if hasattr(step, "_tensor_stats"))
    stats = normalizer._tensor_stats[OBS_ENV_STATE]
    return (normalized * (stats["std"] + normalizer.eps) + stats["mean"]).numpy()


def errors_cm(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Mean distance (cm) per body between predicted and actual positions (N, 9)."""
    distance = np.linalg.norm((predicted - actual).reshape(len(actual), -1, 3), axis=-1).mean(axis=0)
    return {body: round(100 * float(d), 2) for body, d in zip(BODIES, distance, strict=True)}


def evaluation_starts(
    policy, preprocessor, task: str, seed: int, episodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated and actual positions at the first frame of `episodes` evaluation episodes."""
    from lerobot.envs.metaworld import TASK_DESCRIPTIONS
    from lerobot.envs.utils import preprocess_observation

    env = make_env(task)
    predicted, actual = [], []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        batch = preprocess_observation({key: value[None] for key, value in observation.items()})
        batch = preprocessor({**batch, "task": [TASK_DESCRIPTIONS[task]]})
        predicted.append(estimate(policy, preprocessor, batch)[0])
        actual.append(environment_state(env._env._get_obs()))
    env.close()
    return np.asarray(predicted), np.asarray(actual)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="a my_policy pretrained_model folder")
    parser.add_argument("--dataset-root", type=Path, required=True, help="the dataset it was trained on")
    parser.add_argument("--task", required=True, help="the Meta-World task it is evaluated on")
    parser.add_argument("--frames", type=int, default=128, help="random frames of the dataset")
    parser.add_argument("--episodes", type=int, default=20, help="evaluation starts (lerobot-eval's)")
    parser.add_argument("--seed", type=int, default=1000, help="lerobot-eval's --seed")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()

    diagnostic = Diagnostic(args.checkpoint, args.dataset_root, 0, args.output)
    policy, preprocessor, batch = diagnostic.load_frames(args.frames)
    demonstrated = in_simulator_units(batch[OBS_ENV_STATE], preprocessor)
    on_starts = evaluation_starts(policy, preprocessor, args.task, args.seed, args.episodes)
    fields = {
        "task": args.task,
        "frames": len(demonstrated),
        "eval_seed": args.seed,
        "episodes": args.episodes,
        "error_cm": {
            "demonstration_frames": errors_cm(estimate(policy, preprocessor, batch), demonstrated),
            "evaluation_starts": errors_cm(*on_starts),
        },
    }
    diagnostic.write_result(fields, "error_cm")


if __name__ == "__main__":
    main()
