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


def test_a_policy_that_predicts_the_demonstrated_chunks_has_ratio_one_and_a_jumpier_one_more(monkeypatch):
    """Predicted and demonstrated chunks are measured on the same frames and the same (unpadded) steps."""
    policy, pre, _ = make_policy_and_processors(make_config())
    policy.eval()
    batch = pre(raw_batch(policy.config, batch_size=4))
    batch["action_is_pad"][:, -2:] = True
    monkeypatch.setattr(policy, "predict_action_chunk", lambda b: b["action"].clone())
    assert chunk_roughness.chunk_roughness(policy, batch)["ratio"] == 1.0

    def jumpier(b):  # every other action moved by 1: each step changes by 1 more
        chunk = b["action"].clone()
        chunk[:, ::2] += 1.0
        return chunk

    monkeypatch.setattr(policy, "predict_action_chunk", jumpier)
    result = chunk_roughness.chunk_roughness(policy, batch)
    assert result["predicted"] > result["demonstrations"] and result["ratio"] > 1.0


def test_the_predicted_chunks_are_seeded():
    policy, pre, _ = make_policy_and_processors(make_config())
    policy.eval()
    batch = pre(raw_batch(policy.config, batch_size=4))
    assert chunk_roughness.chunk_roughness(policy, batch) == chunk_roughness.chunk_roughness(policy, batch)
