"""Small configs and batches shared by the my_policy tests (CPU, no Hub)."""

import torch

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.policies.my_policy import MyPolicy, MyPolicyConfig, make_my_policy_pre_post_processors
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

IMAGE_SHAPE = (3, 48, 64)
STATE_DIM, ACTION_DIM, ENV_STATE_DIM = 5, 3, 6
TASKS = ["pick up the red block", "open the top drawer"]
SMALL = {
    "horizon": 8,
    "n_action_steps": 4,
    "resize_shape": (32, 32),
    "crop_ratio": 1.0,
    "dim_model": 32,
    "n_heads": 2,
    "dim_feedforward": 64,
    "n_decoder_layers": 2,
    "n_text_layers": 1,
    "max_language_tokens": 24,
    "device": "cpu",
}


def camera_keys(n_cameras: int) -> list[str]:
    return [f"{OBS_IMAGES}.cam{i}" for i in range(n_cameras)]


def make_config(
    n_cameras: int = 1, state: bool = True, env_state: bool = False, **overrides
) -> MyPolicyConfig:
    inputs = {key: PolicyFeature(FeatureType.VISUAL, IMAGE_SHAPE) for key in camera_keys(n_cameras)}
    if state:
        inputs[OBS_STATE] = PolicyFeature(FeatureType.STATE, (STATE_DIM,))
    if env_state:
        inputs[OBS_ENV_STATE] = PolicyFeature(FeatureType.ENV, (ENV_STATE_DIM,))
    return MyPolicyConfig(
        input_features=inputs,
        output_features={ACTION: PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
        **{**SMALL, **overrides},
    )


def dataset_stats(config: MyPolicyConfig) -> dict[str, dict[str, torch.Tensor]]:
    stats = {ACTION: {"mean": torch.full((ACTION_DIM,), 0.5), "std": torch.full((ACTION_DIM,), 2.0)}}
    if config.robot_state_feature is not None:
        stats[OBS_STATE] = {"mean": torch.zeros(STATE_DIM), "std": torch.ones(STATE_DIM)}
    if config.env_state_feature is not None:
        stats[OBS_ENV_STATE] = {
            "mean": torch.full((ENV_STATE_DIM,), 1.0),
            "std": torch.full((ENV_STATE_DIM,), 0.5),
        }
    for key in config.image_features:
        stats[key] = {"mean": torch.full((3, 1, 1), 0.5), "std": torch.full((3, 1, 1), 0.25)}
    return stats


def raw_batch(config: MyPolicyConfig, batch_size: int = 2, seed: int = 0) -> dict:
    """An un-normalized training batch as a LeRobotDataset loader would give it."""
    g = torch.Generator().manual_seed(seed)
    batch = {
        key: torch.rand(batch_size, *feature.shape, generator=g)
        for key, feature in config.image_features.items()
    }
    if config.robot_state_feature is not None:
        batch[OBS_STATE] = torch.randn(batch_size, STATE_DIM, generator=g)
    if config.env_state_feature is not None:
        batch[OBS_ENV_STATE] = torch.randn(batch_size, ENV_STATE_DIM, generator=g)
    batch[ACTION] = torch.randn(batch_size, config.horizon, ACTION_DIM, generator=g)
    batch["action_is_pad"] = torch.zeros(batch_size, config.horizon, dtype=torch.bool)
    batch["task"] = [TASKS[i % len(TASKS)] for i in range(batch_size)]
    return batch


def make_policy_and_processors(config: MyPolicyConfig, seed: int = 0):
    torch.manual_seed(seed)
    policy = MyPolicy(config)
    pre, post = make_my_policy_pre_post_processors(config, dataset_stats(config))
    return policy, pre, post


def train_steps(policy, pre, batch: dict, steps: int = 3, lr: float = 1e-3) -> None:
    """A few AdamW steps with EMA updates, as lerobot-train makes them, so the average differs from the weights."""
    optimizer = torch.optim.AdamW(policy.get_optim_params(), lr=lr)
    for _ in range(steps):
        policy.forward(pre(batch))[0].backward()
        optimizer.step()
        optimizer.zero_grad()
        policy.update()
