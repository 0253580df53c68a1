"""Behaviour of MyPolicy: config validation, loss, action selection, save/load, overfitting, bad input."""

import pytest
import torch
from my_policy_helpers import (
    ACTION_DIM,
    IMAGE_SHAPE,
    TASKS,
    camera_keys,
    make_config,
    make_policy_and_processors,
    raw_batch,
)

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.policies.factory import make_pre_post_processors
from lerobot.policies.my_policy import MyPolicy, MyPolicyConfig
from lerobot.utils.constants import ACTION, OBS_STATE


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_action_steps": 9, "horizon": 8}, "cannot exceed `horizon`"),
        ({"horizon": 0}, "`horizon` must be positive"),
        ({"dim_model": -4}, "`dim_model` must be positive"),
        ({"vision_backbone": "vit_b_16"}, "`vision_backbone` must be one of"),
        ({"num_inference_steps": 3}, "power of two"),
        ({"num_inference_steps": 16, "max_shortcut_steps": 8}, "cannot exceed `max_shortcut_steps`"),
        ({"crop_ratio": 0.0}, "`crop_ratio`"),
        ({"dim_model": 30, "n_heads": 4}, "divisible"),
        ({"pretrained_backbone_weights": "ResNet18_Weights.IMAGENET1K_V1"}, "use_group_norm"),
        ({"n_obs_steps": 2}, "`n_obs_steps` must be 1"),
        ({"shortcut_fraction": 1.0}, "`shortcut_fraction`"),
    ],
)
def test_config_rejects_invalid_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_delta_indices_and_presets():
    config = make_config()
    assert config.action_delta_indices == list(range(config.horizon))
    assert config.observation_delta_indices is None
    optimizer = config.get_optimizer_preset()
    assert optimizer.lr == config.optimizer_lr
    assert config.get_scheduler_preset().peak_lr == config.optimizer_lr


def test_validate_features_errors():
    action = {ACTION: PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}
    no_camera = MyPolicyConfig(
        input_features={OBS_STATE: PolicyFeature(FeatureType.STATE, (4,))}, output_features=action
    )
    with pytest.raises(ValueError, match="at least one camera"):
        no_camera.validate_features()

    no_action = make_config()
    no_action.output_features = {}
    with pytest.raises(ValueError, match="`action`"):
        no_action.validate_features()

    grayscale = make_config(n_cameras=2)
    grayscale.input_features[camera_keys(2)[1]] = PolicyFeature(FeatureType.VISUAL, (1, 48, 64))
    with pytest.raises(ValueError, match=r"RGB image of shape \(3, H, W\)"):
        grayscale.validate_features()


def test_cameras_of_different_sizes_are_each_resized():
    """A wrist camera smaller than the scene camera, as on many robots: both feed the shared backbone."""
    config = make_config(n_cameras=2)
    config.input_features[camera_keys(2)[1]] = PolicyFeature(FeatureType.VISUAL, (3, 24, 24))
    config.validate_features()
    policy, pre, _ = make_policy_and_processors(config)
    loss, _ = policy.forward(pre(raw_batch(config)))
    assert torch.isfinite(loss)
    policy.eval()
    assert policy.predict_action_chunk(pre(raw_batch(config))).shape == (2, config.horizon, ACTION_DIM)


@pytest.mark.parametrize("n_cameras", [1, 2])
@pytest.mark.parametrize("state", [True, False])
@pytest.mark.parametrize("language", [True, False])
def test_forward_loss_is_finite(n_cameras, state, language):
    config = make_config(n_cameras=n_cameras, state=state, use_language=language)
    policy, pre, _ = make_policy_and_processors(config)
    loss, info = policy.forward(pre(raw_batch(config)))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert {"flow_loss", "shortcut_loss"} <= set(info)


def test_gradients_reach_every_trainable_parameter():
    config = make_config(n_cameras=2, use_separate_rgb_encoder_per_camera=True, shortcut_fraction=0.5)
    policy, pre, _ = make_policy_and_processors(config)
    loss, _ = policy.forward(pre(raw_batch(config, batch_size=4)))
    loss.backward()
    trainable = {name: p for name, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("model.") for name in trainable), (
        "EMA weights must not be trained"
    )
    missing = [name for name, p in trainable.items() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient reaches {missing}"


def test_one_token_per_feature_map_cell():
    config = make_config(state=False, use_language=False, resize_shape=(64, 96), crop_ratio=1.0)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    memory, _ = policy.model.encode_observation(pre(raw_batch(config)))
    assert memory.shape[1] == (64 // 32) * (96 // 32)


def test_reduction_none_gives_one_loss_per_sample():
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    batch = pre(raw_batch(config, batch_size=4))
    torch.manual_seed(1)
    per_sample, _ = policy.forward(batch, reduction="none")
    torch.manual_seed(1)
    mean, _ = policy.forward(batch)
    assert per_sample.shape == (4,)
    torch.testing.assert_close(per_sample.mean(), mean)
    with pytest.raises(ValueError, match="reduction"):
        policy.forward(batch, reduction="sum")


def test_padded_actions_do_not_change_the_loss():
    config = make_config(shortcut_fraction=0.5)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=4)
    batch["action_is_pad"][:, 5:] = True
    other = {**batch, ACTION: batch[ACTION].clone()}
    other[ACTION][:, 5:] = 100.0
    losses = []
    for b in (batch, other):
        torch.manual_seed(0)
        losses.append(policy.forward(pre(b), reduction="none")[0])
    torch.testing.assert_close(losses[0], losses[1])


def test_select_action_queues_one_chunk_per_n_action_steps(monkeypatch):
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    batch = pre(
        {k: v for k, v in raw_batch(config, batch_size=3).items() if k not in (ACTION, "action_is_pad")}
    )
    calls = []
    predict = policy.predict_action_chunk
    monkeypatch.setattr(policy, "predict_action_chunk", lambda b: calls.append(1) or predict(b))

    for _ in range(2 * config.n_action_steps):
        action = policy.select_action(batch)
        assert action.shape == (3, ACTION_DIM)
    assert len(calls) == 2
    policy.select_action(batch)
    assert len(calls) == 3
    policy.reset()
    policy.select_action(batch)
    assert len(calls) == 4, "reset() must drop the queued actions"


def test_predict_action_chunk_shape():
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    chunk = policy.predict_action_chunk(pre(raw_batch(config, batch_size=2)))
    assert chunk.shape == (2, config.horizon, ACTION_DIM)


def test_save_and_load_give_identical_actions(tmp_path):
    config = make_config()
    policy, pre, post = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=2)
    # A few EMA updates so the saved average differs from the live weights.
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    for _ in range(3):
        policy.forward(pre(batch))[0].backward()
        optimizer.step()
        optimizer.zero_grad()
        policy.update()
    policy.eval()
    policy.save_pretrained(tmp_path)
    pre.save_pretrained(tmp_path)
    post.save_pretrained(tmp_path)

    loaded = MyPolicy.from_pretrained(tmp_path)
    loaded.eval()
    loaded_pre, loaded_post = make_pre_post_processors(loaded.config, pretrained_path=str(tmp_path))
    observation = {k: v for k, v in batch.items() if k not in (ACTION, "action_is_pad")}
    actions = []
    for p, pr, po in ((policy, pre, post), (loaded, loaded_pre, loaded_post)):
        torch.manual_seed(7)
        actions.append(po(p.predict_action_chunk(pr(observation))))
    torch.testing.assert_close(actions[0], actions[1], rtol=0, atol=0)
    ema = dict(policy.ema.module.named_parameters())
    assert any(not torch.equal(p, ema[n]) for n, p in policy.model.named_parameters()), (
        "EMA was never updated"
    )


def test_overfits_a_tiny_batch_and_samples_in_one_and_four_steps():
    config = make_config(
        use_ema=False,
        dropout=0.0,
        shortcut_fraction=0.5,
        horizon=4,
        n_action_steps=4,
        dim_model=64,
        dim_feedforward=128,
    )
    policy, pre, _ = make_policy_and_processors(config)
    two = raw_batch(config, batch_size=2, seed=3)
    batch = pre({k: (torch.cat([v] * 4) if isinstance(v, torch.Tensor) else v * 4) for k, v in two.items()})

    def flow_loss() -> float:
        """Flow-matching loss on the batch for fixed noise and times (averaged over 5 draws)."""
        torch.manual_seed(123)
        with torch.no_grad():
            return sum(policy.forward(batch)[1]["flow_loss"] for _ in range(5)) / 5

    initial = flow_loss()
    optimizer = torch.optim.AdamW(policy.parameters(), lr=2e-3, weight_decay=0)
    torch.manual_seed(0)
    for _ in range(500):
        loss, _ = policy.forward(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    final = flow_loss()
    assert final < initial / 10, f"flow-matching loss went from {initial:.3f} to {final:.3f}"

    policy.eval()
    target = batch[ACTION][:2]
    observation = pre({k: v for k, v in two.items() if k not in (ACTION, "action_is_pad")})
    for steps in (1, 4):
        policy.config.num_inference_steps = steps
        torch.manual_seed(0)
        error = (policy.predict_action_chunk(observation) - target).pow(2).mean().item()
        assert error < 0.1 * target.pow(2).mean().item(), (
            f"{steps}-step sample misses the target (mse {error:.3f})"
        )


class TestBadInputAtInference:
    @pytest.fixture
    def setup(self):
        config = make_config()
        policy, pre, _ = make_policy_and_processors(config)
        policy.eval()
        observation = {k: v for k, v in raw_batch(config).items() if k not in (ACTION, "action_is_pad")}
        return config, policy, pre, observation

    def test_missing_camera(self, setup):
        config, policy, pre, observation = setup
        del observation[camera_keys(1)[0]]
        with pytest.raises(ValueError, match="Missing camera"):
            policy.select_action(pre(observation))

    def test_wrong_image_size(self, setup):
        config, policy, pre, observation = setup
        observation[camera_keys(1)[0]] = torch.rand(2, 3, IMAGE_SHAPE[1] * 2, IMAGE_SHAPE[2])
        with pytest.raises(ValueError, match="trained on"):
            policy.select_action(pre(observation))

    def test_another_resolution_of_the_same_view_is_accepted(self, setup):
        config, policy, pre, observation = setup
        for key in config.image_features:
            observation[key] = torch.rand(2, 3, IMAGE_SHAPE[1] * 3 // 2, IMAGE_SHAPE[2] * 3 // 2)
        assert policy.select_action(pre(observation)).shape == (2, ACTION_DIM)

    def test_missing_task(self, setup):
        config, policy, pre, observation = setup
        del observation["task"]
        with pytest.raises(ValueError, match="no `task` string"):
            policy.select_action(pre(observation))

    def test_nan_state(self, setup):
        config, policy, pre, observation = setup
        observation[OBS_STATE][0, 1] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            policy.select_action(pre(observation))


def test_pretrained_text_encoder_from_a_local_folder(tmp_path):
    """`text_encoder=<name or folder>`: frozen transformers encoder + its tokenizer, saved and reloaded."""
    transformers = pytest.importorskip("transformers")
    encoder_dir = tmp_path / "tiny_bert"
    words = sorted({w for task in TASKS for w in task.split()})
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    transformers.BertTokenizer(str(vocab)).save_pretrained(encoder_dir)
    bert = transformers.BertConfig(
        vocab_size=len(words) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    transformers.BertModel(bert).save_pretrained(encoder_dir)

    config = make_config(text_encoder=str(encoder_dir), max_language_tokens=12)
    policy, pre, post = make_policy_and_processors(config)
    batch = pre(raw_batch(config, batch_size=4))
    assert batch["observation.language.tokens"].shape == (4, 12)
    loss, _ = policy.forward(batch)
    loss.backward()
    frozen = policy.model.pretrained_text_encoder
    assert not frozen.training
    assert all(p.grad is None for p in frozen.parameters()), "the pretrained encoder must stay frozen"
    assert policy.model.text_proj.weight.grad is not None
    assert policy.ema.module.pretrained_text_encoder is frozen, "the EMA must share, not copy, frozen weights"

    policy.eval()
    policy.save_pretrained(tmp_path / "ckpt")
    pre.save_pretrained(tmp_path / "ckpt")
    post.save_pretrained(tmp_path / "ckpt")
    loaded = MyPolicy.from_pretrained(tmp_path / "ckpt")
    loaded.eval()
    loaded_pre, loaded_post = make_pre_post_processors(loaded.config, pretrained_path=str(tmp_path / "ckpt"))
    observation = {k: v for k, v in raw_batch(config).items() if k not in (ACTION, "action_is_pad")}
    actions = []
    for p, pr, po in ((policy, pre, post), (loaded, loaded_pre, loaded_post)):
        torch.manual_seed(7)
        actions.append(po(p.predict_action_chunk(pr(observation))))
    torch.testing.assert_close(actions[0], actions[1], rtol=0, atol=0)


def test_task_longer_than_the_token_budget_is_truncated_with_a_warning(caplog):
    from lerobot.lerobot_types import TransitionKey
    from lerobot.policies.my_policy.processor_my_policy import ByteTokenizerProcessorStep
    from lerobot.processor.converters import create_transition

    step = ByteTokenizerProcessorStep(max_length=8)
    transition = create_transition(observation={}, complementary_data={"task": ["pick up the bowl", "open"]})
    with caplog.at_level("WARNING"):
        out = step(transition)
        step(transition)
    tokens = out[TransitionKey.OBSERVATION]["observation.language.tokens"]
    assert bytes(tokens[0].tolist()) == b"pick up " and tokens[1, :4].tolist() == list(b"open")
    warnings = [r.message for r in caplog.records if "max_language_tokens" in r.message]
    assert len(warnings) == 1 and "max_language_tokens=16" in warnings[0]
