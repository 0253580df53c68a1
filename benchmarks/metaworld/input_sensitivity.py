#!/usr/bin/env python
"""Which observation tokens a trained my_policy acts on: swap one group of tokens (the cameras, the robot state,
the task) between two frames of a dataset and measure how much the predicted flow velocity changes.

A policy that ignores its camera can still fit the demonstrations' average motion from the robot state and fails
wherever the object's place matters (Meta-World push-v3 puts the puck and the goal at random). The numbers are
relative: mean |velocity change| / mean |velocity|, at the same noise and flow time for both frames of a pair.

    python -m benchmarks.metaworld.input_sensitivity outputs/bench_metaworld/my_policy/push-v3/train/checkpoints/last/pretrained_model \\
        --dataset-root data/metaworld/bench/push-v3-20 --output benchmarks/results/metaworld_input_sensitivity/push-v3_default.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmarks import machine


def token_groups(policy) -> dict[str, slice]:
    """Where each input sits in the memory that `MyPolicyModel.encode_observation` builds: camera tokens, then
    the state token, then the task's text tokens."""
    model = policy.model
    n_camera = model.image_pos.shape[0] * model.image_pos.shape[1]
    groups, end = {"camera": slice(0, n_camera)}, n_camera
    if model.state_proj is not None:
        groups["state"], end = slice(end, end + 1), end + 1
    if policy.config.use_language:
        groups["language"] = slice(end, None)
    return groups


@torch.no_grad()
def sensitivity(policy, batch: dict, seed: int = 0) -> dict[str, float]:
    """Relative velocity change per token group for a preprocessed batch of 2N frames, frame i paired with i + N."""
    size = len(batch["action"])
    if size < 2 or size % 2:
        raise ValueError(f"need an even number of frames (pairs), got {size}")
    model = policy.inference_model()
    memory, mask = model.encode_observation(batch)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, policy.config.horizon, model.action_dim, generator=g)
    t = torch.rand(size, generator=g)
    step = torch.full((size,), 1.0 / policy.config.num_inference_steps)
    velocity = model.velocity(x, t, step, memory, mask)
    partner = torch.arange(size).roll(size // 2)
    changes = {}
    for name, tokens in token_groups(policy).items():
        swapped, swapped_mask = memory.clone(), mask.clone()
        swapped[:, tokens], swapped_mask[:, tokens] = memory[partner, tokens], mask[partner, tokens]
        change = model.velocity(x, t, step, swapped, swapped_mask) - velocity
        changes[name] = round((change.abs().mean() / velocity.abs().mean()).item(), 5)
    return changes


def load_frames(checkpoint: Path, dataset_root: Path, n_frames: int, seed: int) -> tuple:
    """A trained my_policy (eval mode) and `n_frames` random frames of a local dataset, preprocessed for it, with
    their demonstrated action chunks."""
    from torch.utils.data import default_collate

    from lerobot.datasets import LeRobotDatasetMetadata
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot.policies.factory import make_pre_post_processors
    from lerobot.policies.my_policy import MyPolicy

    policy = MyPolicy.from_pretrained(checkpoint).eval()
    preprocessor, _ = make_pre_post_processors(policy.config, pretrained_path=str(checkpoint))
    fps = LeRobotDatasetMetadata(f"local/{dataset_root.name}", root=dataset_root).fps
    dataset = LeRobotDataset(
        f"local/{dataset_root.name}",
        root=dataset_root,
        delta_timestamps={"action": [i / fps for i in policy.config.action_delta_indices]},
    )
    frames = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n_frames]
    return policy, preprocessor(default_collate([dataset[i] for i in frames.tolist()]))


def diagnostic_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every checkpoint diagnostic takes; each adds how many frames it reads."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="a my_policy pretrained_model folder")
    parser.add_argument(
        "--dataset-root", type=Path, required=True, help="a local LeRobotDataset it was trained on"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True)
    return parser


def write_result(args: argparse.Namespace, fields: dict, measured: str) -> None:
    """Write a diagnostic's JSON (with where it ran) and print its `measured` entry."""
    result = {
        "checkpoint": str(args.checkpoint),
        "dataset_root": str(args.dataset_root),
        **fields,
        "hardware": machine.hardware(),
        "git_commit": machine.git_commit(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result[measured]))


def main() -> None:
    parser = diagnostic_parser(__doc__)
    parser.add_argument("--pairs", type=int, default=64)
    args = parser.parse_args()

    policy, batch = load_frames(args.checkpoint, args.dataset_root, 2 * args.pairs, args.seed)
    fields = {
        "pairs": len(batch["action"]) // 2,
        "seed": args.seed,
        "relative_velocity_change": sensitivity(policy, batch, args.seed),
    }
    write_result(args, fields, "relative_velocity_change")


if __name__ == "__main__":
    main()
