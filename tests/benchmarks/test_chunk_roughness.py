"""The chunk-roughness diagnostic: mean change between consecutive actions, padding excluded."""

import torch
from my_policy_helpers import make_config, make_policy_and_processors, raw_batch

from benchmarks.metaworld import chunk_roughness


def test_roughness_of_known_chunks_ignores_padding():
    no_pad = torch.zeros(2, 4, dtype=torch.bool)
    smooth = torch.linspace(0, 0.3, 4).reshape(1, 4, 1).expand(2, 4, 2)
    assert abs(chunk_roughness.roughness(smooth, no_pad) - 0.1) < 1e-6
    jumping = torch.tensor([0.0, 1.0, 0.0, 1.0]).reshape(1, 4, 1).expand(2, 4, 2)
    assert chunk_roughness.roughness(jumping, no_pad) == 1.0
    padded = no_pad.clone()
    padded[:, 2:] = True  # only the step 0 -> 1 is between real actions
    jumping_after_pad = torch.tensor([0.0, 0.5, 9.0, -9.0]).reshape(1, 4, 1).expand(2, 4, 2)
    assert chunk_roughness.roughness(jumping_after_pad, padded) == 0.5


def test_policy_and_demonstrations_are_measured_on_the_same_frames():
    policy, pre, _ = make_policy_and_processors(make_config())
    policy.eval()
    batch = pre(raw_batch(policy.config, batch_size=4))
    result = chunk_roughness.chunk_roughness(policy, batch)
    assert set(result) == {"predicted", "demonstrations", "ratio"}
    assert result["demonstrations"] == round(
        chunk_roughness.roughness(batch["action"], batch["action_is_pad"]), 4
    )
    assert result["predicted"] > 0 and result["ratio"] == round(
        result["predicted"] / result["demonstrations"], 2
    )
    assert chunk_roughness.chunk_roughness(policy, batch) == result, "seeded: the same chunks every time"
