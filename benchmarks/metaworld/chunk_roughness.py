#!/usr/bin/env python
"""How smooth a trained my_policy's action chunks are next to the demonstrations it learned from.

A flow-matching chunk starts from noise that is drawn independently for every action. Where the demonstrations are
multi-modal (Meta-World's push-v3 expert first holds its height, then descends at full speed), each action of a
chunk can pick its own mode, and the executed motion jumps between them from one step to the next. The number is
the mean |a[i + 1] - a[i]| over consecutive actions of a chunk (normalized action space, padding excluded),
predicted and demonstrated, on the same frames.

    python -m benchmarks.metaworld.chunk_roughness outputs/bench_metaworld/my_policy/push-v3/train/checkpoints/last/pretrained_model \\
        --dataset-root data/metaworld/bench/push-v3-20 --output benchmarks/results/metaworld_chunk_roughness/push-v3_default.json
"""

from __future__ import annotations

import torch
from torch import Tensor

from benchmarks.metaworld.diagnostics import Diagnostic


def roughness(chunks: Tensor, is_pad: Tensor) -> float:
    """Mean absolute change between consecutive actions (B, T, D) of a chunk, where both are real actions."""
    valid = ~(is_pad[:, 1:] | is_pad[:, :-1])
    steps = (chunks[:, 1:] - chunks[:, :-1]).abs().mean(dim=-1)
    return (steps[valid].mean()).item()


@torch.no_grad()
def chunk_roughness(policy, batch: dict, seed: int = 0) -> dict[str, float]:
    """Roughness of the policy's chunks and of the demonstrated ones for a preprocessed batch, and their ratio."""
    torch.manual_seed(seed)
    predicted = policy.predict_action_chunk(batch)
    is_pad = batch["action_is_pad"]
    result = {"predicted": roughness(predicted, is_pad), "demonstrations": roughness(batch["action"], is_pad)}
    result = {name: round(value, 4) for name, value in result.items()}
    result["ratio"] = round(result["predicted"] / result["demonstrations"], 2)
    return result


def main() -> None:
    diagnostic, frames = Diagnostic.from_command_line(__doc__, "frames", 128)
    policy, _, batch = diagnostic.load_frames(frames)
    fields = {
        "frames": len(batch["action"]),
        "num_inference_steps": policy.config.num_inference_steps,
        "mean_abs_step_change": chunk_roughness(policy, batch, diagnostic.seed),
    }
    diagnostic.write_result(fields, "mean_abs_step_change")


if __name__ == "__main__":
    main()
