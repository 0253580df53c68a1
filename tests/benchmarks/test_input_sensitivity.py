"""The input-sensitivity diagnostic: swapping a token group between frames moves the velocity only if the policy
reads that group."""

import pytest
import torch
from my_policy_helpers import make_config, make_policy_and_processors, raw_batch

from benchmarks.metaworld import input_sensitivity


def test_a_policy_blind_to_its_camera_shows_zero_camera_sensitivity():
    policy, pre, _ = make_policy_and_processors(make_config())
    batch = pre(raw_batch(policy.config, batch_size=6))  # pairs (i, i + 3) have different tasks
    policy.eval()
    seeing = input_sensitivity.sensitivity(policy, batch)
    assert set(seeing) == {"camera", "state", "language"}
    assert all(change > 0 for change in seeing.values())

    for model in (policy.model, policy.inference_model()):
        torch.nn.init.zeros_(model.image_proj.weight)
        torch.nn.init.zeros_(model.image_proj.bias)
    blind = input_sensitivity.sensitivity(policy, batch)
    assert blind["camera"] == 0 and blind["state"] > 0 and blind["language"] > 0


def test_token_groups_follow_the_memory_layout():
    config = make_config(n_cameras=2, state=False, use_language=False)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    memory, _ = policy.model.encode_observation(pre(raw_batch(config)))
    assert input_sensitivity.token_groups(policy) == {"camera": slice(0, memory.shape[1])}
    with pytest.raises(ValueError, match="even number of frames"):
        input_sensitivity.sensitivity(policy, {"action": torch.zeros(3, 1)})


def test_the_environment_state_token_counts_as_camera():
    """The token is the head's estimate from the cameras: swapping the cameras swaps it too."""
    config = make_config(env_state=True, environment_state_loss_weight=1.0, environment_state_token=True)
    policy, pre, _ = make_policy_and_processors(config)
    groups = input_sensitivity.token_groups(policy)
    assert groups["camera"] == slice(0, policy.model.n_camera_tokens + 1)
    assert groups["state"] == slice(policy.model.n_camera_tokens + 1, policy.model.n_camera_tokens + 2)


def test_a_checkpoint_folder_that_does_not_exist_is_named_not_looked_up_on_the_hub(
    tmp_path, monkeypatch, capsys
):
    argv = ["input_sensitivity", str(tmp_path / "no_checkpoint"), "--dataset-root", str(tmp_path)]
    monkeypatch.setattr("sys.argv", [*argv, "--output", str(tmp_path / "out.json")])
    with pytest.raises(SystemExit):
        input_sensitivity.main()
    assert "no_checkpoint is not a pretrained_model folder" in capsys.readouterr().err
