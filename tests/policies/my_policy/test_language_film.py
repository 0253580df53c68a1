"""`language_film`: the task sentence scales and shifts every ResNet stage of the camera encoder."""

import pytest
import torch
from my_policy_helpers import (
    TASKS,
    camera_keys,
    make_config,
    make_policy_and_processors,
    raw_batch,
    train_steps,
)

from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS


def camera_tokens(model, batch) -> torch.Tensor:
    memory, _ = model.encode_observation(batch)
    return memory[:, : model.n_camera_tokens]


def with_tasks(pre, batch: dict, tasks: list[str]) -> dict:
    return pre({**batch, "task": tasks})


def test_one_film_layer_per_kept_stage_sized_to_its_channels():
    config = make_config(language_film=True, backbone_stages=3)
    policy, _, _ = make_policy_and_processors(config)
    assert [layer.out_features for layer in policy.model.film] == [2 * 64, 2 * 128, 2 * 256]
    assert config.stage_channels[-1] == config.backbone_channels


def test_film_starts_as_the_plain_backbone():
    """Zero-initialized FiLM layers leave the camera tokens exactly as without FiLM, whatever the sentence."""
    config = make_config(language_film=True)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    batch = raw_batch(config)
    with_film = camera_tokens(policy.model, with_tasks(pre, batch, TASKS))
    other_sentence = camera_tokens(policy.model, with_tasks(pre, batch, TASKS[::-1]))
    film, policy.model.film = policy.model.film, None
    without_film = camera_tokens(policy.model, with_tasks(pre, batch, TASKS))
    policy.model.film = film
    torch.testing.assert_close(with_film, without_film, rtol=0, atol=0)
    torch.testing.assert_close(other_sentence, without_film, rtol=0, atol=0)


@pytest.mark.parametrize("language_film", [False, True])
def test_only_film_makes_the_camera_tokens_depend_on_the_sentence(language_film):
    config = make_config(language_film=language_film)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config)
    train_steps(policy, pre, batch)  # moves the FiLM layers away from zero
    policy.eval()
    tokens = [camera_tokens(policy.model, with_tasks(pre, batch, tasks)) for tasks in (TASKS, TASKS[::-1])]
    change = ((tokens[1] - tokens[0]).abs().mean() / tokens[0].abs().mean()).item()
    if language_film:
        assert change > 1e-3, f"swapping the sentences moved the camera tokens by only {change:.2e}"
    else:
        assert change == 0


def test_stacked_cameras_are_each_modulated_by_their_own_samples_sentence():
    """Both cameras go through the backbone in one stacked batch: each image gets its sample's sentence, so
    encoding one camera alone gives the same features."""
    config = make_config(n_cameras=2, state=False, language_film=True)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=3)
    train_steps(policy, pre, batch)
    policy.eval()
    processed = with_tasks(pre, batch, ["open the top drawer", "pick up the red block", "close it"])
    model = policy.model
    tokens = model.encode_text(processed[OBS_LANGUAGE_TOKENS], processed[OBS_LANGUAGE_ATTENTION_MASK].bool())
    sentence = (tokens[0] * tokens[1].unsqueeze(-1)).sum(1) / tokens[1].sum(1, keepdim=True)
    stacked = model.encode_cameras(processed, sentence)
    for i, key in enumerate(camera_keys(2)):
        image = model.center_crop(model.resize(processed[key]))
        alone = model.image_proj(model.run_backbone(model.backbones[0], image, sentence))
        torch.testing.assert_close(
            stacked[i], alone.flatten(2).transpose(1, 2) + model.image_pos[i], rtol=1e-4, atol=1e-5
        )


def test_film_trains_the_film_layers_and_the_text_encoder_through_the_cameras():
    config = make_config(language_film=True, state=False)
    policy, pre, _ = make_policy_and_processors(config)
    train_steps(
        policy, pre, raw_batch(config)
    )  # nonzero FiLM weights, so the cameras' gradient reaches the text
    policy.zero_grad()
    camera_tokens(policy.model, pre(raw_batch(config, seed=1))).pow(2).mean().backward()
    film_grads = [layer.weight.grad for layer in policy.model.film]
    assert all(g is not None and g.abs().sum() > 0 for g in film_grads)
    assert (
        policy.model.text_embed.weight.grad is not None
        and policy.model.text_embed.weight.grad.abs().sum() > 0
    )
