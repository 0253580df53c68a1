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

import torch

from benchmarks.metaworld.diagnostics import Diagnostic


def token_groups(policy) -> dict[str, slice]:
    """Where each input sits in the memory that `MyPolicyModel.encode_observation` builds: camera tokens (and the
    environment-state token estimated from them, if any), then the state token, then the task's text tokens."""
    model = policy.model
    n_camera = model.n_camera_tokens + (model.environment_state_proj is not None)
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


def main() -> None:
    diagnostic, pairs = Diagnostic.from_command_line(__doc__, "pairs", 64)
    policy, _, batch = diagnostic.load_frames(2 * pairs)
    fields = {
        "pairs": len(batch["action"]) // 2,
        "relative_velocity_change": sensitivity(policy, batch, diagnostic.seed),
    }
    diagnostic.write_result(fields, "relative_velocity_change")


if __name__ == "__main__":
    main()
