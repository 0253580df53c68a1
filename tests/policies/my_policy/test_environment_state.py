"""The privileged environment-state head: trained from the cameras only, never needed at inference."""

import pytest
import torch
from my_policy_helpers import ENV_STATE_DIM, make_config, make_policy_and_processors, raw_batch

from lerobot.policies.my_policy import MyPolicy
from lerobot.utils.constants import OBS_ENV_STATE


def test_loss_adds_the_weighted_error_of_the_state_predicted_from_the_cameras():
    config = make_config(n_cameras=2, env_state=True, environment_state_loss_weight=0.5)
    policy, pre, _ = make_policy_and_processors(config)
    batch = pre(raw_batch(config, batch_size=4))
    torch.manual_seed(0)
    loss, info = policy.forward(batch, reduction="none")

    model = policy.model
    torch.manual_seed(0)
    memory, _ = model.encode_observation(batch)
    camera_tokens = memory[:, : model.n_camera_tokens]
    assert model.n_camera_tokens == 2 * model.image_pos.shape[1]
    expected_error = ((model.environment_state_head(camera_tokens) - batch[OBS_ENV_STATE]) ** 2).mean(dim=1)
    torch.testing.assert_close(info["environment_state_loss"], expected_error.mean().item())

    # Without the head, the same draws give the flow loss alone: the difference is the weighted error.
    model.environment_state_head = None
    torch.manual_seed(0)
    flow_only, _ = policy.forward(batch, reduction="none")
    torch.testing.assert_close(loss - flow_only, 0.5 * expected_error)


def test_the_state_error_trains_the_cameras_and_not_the_state_or_text():
    config = make_config(env_state=True, environment_state_loss_weight=1.0)
    policy, pre, _ = make_policy_and_processors(config)
    batch = pre(raw_batch(config, batch_size=4))
    memory, _ = policy.model.encode_observation(batch)
    policy.model.environment_state_error(batch, memory).sum().backward()
    grads = {name: p.grad for name, p in policy.model.named_parameters()}
    assert grads["backbones.0.0.weight"].abs().sum() > 0
    assert grads["environment_state_head.1.weight"].abs().sum() > 0
    for name in ("state_proj.weight", "text_embed.weight"):
        assert grads[name] is None or not grads[name].any(), name


def test_inference_needs_no_environment_state():
    config = make_config(env_state=True, environment_state_loss_weight=1.0)
    policy, pre, post = make_policy_and_processors(config)
    policy.eval()
    observation = raw_batch(config, batch_size=1)
    for key in (OBS_ENV_STATE, "action", "action_is_pad"):
        observation.pop(key)
    action = post(policy.select_action(pre(observation)))
    assert action.shape == (1, config.action_feature.shape[0])


def test_without_the_weight_a_dataset_with_environment_state_trains_exactly_as_one_without():
    with_env = make_config(env_state=True)
    without = make_config()
    policies = [make_policy_and_processors(config)[0] for config in (with_env, without)]
    assert policies[0].model.environment_state_head is None
    assert policies[0].state_dict().keys() == policies[1].state_dict().keys()
    batch = raw_batch(with_env, batch_size=4)
    losses = []
    for policy, config in zip(policies, (with_env, without), strict=True):
        _, pre, _ = make_policy_and_processors(config)
        torch.manual_seed(0)
        losses.append(policy.forward(pre(batch))[0])
    torch.testing.assert_close(losses[0], losses[1])


def test_a_training_batch_without_the_environment_state_is_refused():
    config = make_config(env_state=True, environment_state_loss_weight=1.0)
    policy, pre, _ = make_policy_and_processors(config)
    batch = pre(raw_batch(config))
    batch.pop(OBS_ENV_STATE)
    with pytest.raises(ValueError, match=r"observation\.environment_state.*environment_state_loss_weight=0"):
        policy.forward(batch)


@pytest.mark.parametrize("token", [False, True])
def test_a_saved_checkpoint_loads_and_acts_without_the_environment_state(tmp_path, token):
    """As lerobot-eval runs it: the policy and processors from the checkpoint folder, an env that has no
    `observation.environment_state`."""
    from lerobot.policies.factory import make_pre_post_processors

    config = make_config(env_state=True, environment_state_loss_weight=1.0, environment_state_token=token)
    policy, pre, post = make_policy_and_processors(config)
    policy.save_pretrained(tmp_path)
    pre.save_pretrained(tmp_path)
    post.save_pretrained(tmp_path)

    loaded = MyPolicy.from_pretrained(tmp_path).eval()
    assert loaded.model.environment_state_head[-1].out_features == ENV_STATE_DIM
    torch.testing.assert_close(
        loaded.model.environment_state_head[-1].weight, policy.model.environment_state_head[-1].weight
    )
    loaded_pre, loaded_post = make_pre_post_processors(loaded.config, pretrained_path=str(tmp_path))
    observation = raw_batch(config, batch_size=1)
    for key in (OBS_ENV_STATE, "action", "action_is_pad"):
        observation.pop(key)
    torch.manual_seed(0)
    action = loaded_post(loaded.select_action(loaded_pre(observation)))
    policy.eval()
    torch.manual_seed(0)
    torch.testing.assert_close(action, post(policy.select_action(pre(observation))))


def test_the_token_carries_the_heads_estimate_from_the_cameras_and_trains_only_its_projection():
    config = make_config(env_state=True, environment_state_loss_weight=1.0, environment_state_token=True)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    model = policy.model
    batch = pre(raw_batch(config, batch_size=3))
    memory, _ = model.encode_observation(batch)
    cameras = model.memory_norm(torch.cat(model.encode_cameras(batch), dim=1))
    token = model.memory_norm(model.environment_state_proj(model.environment_state_head(cameras)))
    torch.testing.assert_close(memory[:, model.n_camera_tokens], token)

    # The flow loss reaches the token's projection but not the head (only the environment-state loss trains it).
    policy.train()
    memory, mask = model.encode_observation(batch)
    actions = batch["action"]
    x_t, t, step, target = model.flow_targets(actions, batch["action_is_pad"], memory, mask)
    ((model.velocity(x_t, t, step, memory, mask) - target) ** 2).mean().backward()
    assert model.environment_state_proj.weight.grad.abs().sum() > 0
    assert all(p.grad is None or not p.grad.any() for p in model.environment_state_head.parameters())

    # Inference needs no environment state: the estimate comes from the cameras.
    observation = raw_batch(config, batch_size=1)
    for key in (OBS_ENV_STATE, "action", "action_is_pad"):
        observation.pop(key)
    policy.eval()
    assert policy.select_action(pre(observation)).shape == (1, config.action_feature.shape[0])
