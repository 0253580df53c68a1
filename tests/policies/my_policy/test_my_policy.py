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
    train_steps,
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
        ({"backbone_stages": 5}, "`backbone_stages` must be 2, 3 or 4"),
        ({"prediction_type": "epsilon"}, "`prediction_type` must be one of"),
        ({"num_inference_steps": 3}, "power of two"),
        ({"num_inference_steps": 16, "max_shortcut_steps": 8}, "cannot exceed `max_shortcut_steps`"),
        ({"crop_ratio": 0.0}, "`crop_ratio`"),
        ({"dim_model": 30, "n_heads": 4}, "divisible"),
        ({"pretrained_backbone_weights": "ResNet18_Weights.IMAGENET1K_V1"}, "use_group_norm"),
        ({"n_obs_steps": 2}, "`n_obs_steps` must be 1"),
        ({"shortcut_fraction": 1.0}, "`shortcut_fraction`"),
        ({"environment_state_loss_weight": -1.0}, "`environment_state_loss_weight` must be >= 0"),
        ({"environment_state_token": True}, "only trains with `environment_state_loss_weight` > 0"),
        ({"temporal_ensemble_coeff": 0.01}, "set `n_action_steps=1`"),
        ({"gripper_transition_weight": 0.5}, "`gripper_transition_weight` must be >= 1"),
        ({"language_film": True, "use_language": False}, "set `use_language=True`"),
    ],
)
def test_config_rejects_invalid_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_backbone_trains_in_its_own_parameter_group():
    """`optimizer_lr_backbone` reaches the ResNets through LeRobot's own optimizer preset; nothing else gets it."""
    config = make_config(n_cameras=2, use_separate_rgb_encoder_per_camera=True, optimizer_lr_backbone=2e-5)
    policy, _, _ = make_policy_and_processors(config)
    optimizer = config.get_optimizer_preset().build(policy.get_optim_params())
    rest, backbone = optimizer.param_groups
    assert rest["lr"] == config.optimizer_lr and backbone["lr"] == 2e-5
    assert {id(p) for p in backbone["params"]} == {id(p) for p in policy.model.backbones.parameters()}
    trainable = {id(p) for p in policy.parameters() if p.requires_grad}
    assert {id(p) for p in rest["params"]} == trainable - {id(p) for p in backbone["params"]}
    assert not {id(p) for p in policy.ema.parameters()} & trainable, "EMA weights must not be optimized"


def test_fused_optimizer_step_is_the_plain_adamw_step():
    """The preset steps with PyTorch's fused AdamW kernel, and lands where the unfused AdamW lands."""
    config = make_config(n_cameras=2)
    policy, pre, _ = make_policy_and_processors(config)
    policy.forward(pre(raw_batch(config, batch_size=2, seed=1)))[0].backward()
    groups = policy.get_optim_params()
    before = [p.detach().clone() for group in groups for p in group["params"]]
    unfused = [
        {**group, "params": [p.detach().clone().requires_grad_() for p in group["params"]], "fused": False}
        for group in groups
    ]
    for group, copy in zip(groups, unfused, strict=True):
        for param, twin in zip(group["params"], copy["params"], strict=True):
            twin.grad = param.grad
    fused = config.get_optimizer_preset().build(groups)
    plain = config.get_optimizer_preset().build(unfused)
    assert all(group["fused"] for group in fused.param_groups)
    for _ in range(3):
        fused.step()
        plain.step()
    moved = [p for group in fused.param_groups for p in group["params"]]
    expected = [p for group in plain.param_groups for p in group["params"]]
    assert any(not torch.equal(p, b) for p, b in zip(moved, before, strict=True)), (
        "the step should move weights"
    )
    for param, twin in zip(moved, expected, strict=True):
        torch.testing.assert_close(param, twin, rtol=1e-5, atol=1e-6)


def test_ema_warms_up_then_averages_with_its_decay():
    """The first update copies the weights; then decay = min(ema_decay, (1 + n) / (10 + n))."""
    config = make_config(ema_decay=0.2)
    policy, _, _ = make_policy_and_processors(config)
    live, averaged = policy.model.action_out.bias, policy.ema.module.action_out.bias
    expected = None
    for n, value in enumerate([1.0, 3.0, -2.0, 4.0]):
        with torch.no_grad():
            live.fill_(value)
        policy.update()
        decay = min(0.2, (1 + n) / (10 + n))  # n: updates averaged so far
        expected = value if expected is None else decay * expected + (1 - decay) * value
        torch.testing.assert_close(averaged, torch.full_like(averaged, expected))
    assert expected != 4.0, "the average must lag the weights"


@pytest.mark.parametrize("use_ema", [True, False])
def test_inference_acts_with_the_ema_weights(use_ema):
    config = make_config(use_ema=use_ema)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config)
    train_steps(policy, pre, batch, lr=1e-2)
    policy.eval()
    observation = pre({k: v for k, v in batch.items() if k not in (ACTION, "action_is_pad")})
    chunks = {}
    for name, fn in (
        ("policy", policy.predict_action_chunk),
        ("live", policy.model.generate_actions),
        ("ema", policy.ema.module.generate_actions if use_ema else None),
    ):
        if fn is not None:
            torch.manual_seed(0)
            with torch.no_grad():
                chunks[name] = fn(observation)
    expected = chunks["ema"] if use_ema else chunks["live"]
    torch.testing.assert_close(chunks["policy"], expected, rtol=0, atol=0)
    if use_ema:
        assert not torch.allclose(chunks["ema"], chunks["live"]), "live and averaged weights should differ"


def test_changing_the_step_count_after_loading_reaches_the_ema_weights():
    """`policy.config.num_inference_steps = 1` on a loaded policy samples in one step, though the EMA that acts
    holds its own copy of the config."""
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    observation = pre(_observation(config))
    chunks = {}
    for steps in (4, 1):
        policy.config.num_inference_steps = steps
        torch.manual_seed(0)
        chunks[steps] = policy.predict_action_chunk(observation)
        torch.manual_seed(0)
        expected = policy.ema.module.generate_actions(observation, num_inference_steps=steps)
        torch.testing.assert_close(chunks[steps], expected, rtol=0, atol=0)
    assert not torch.allclose(chunks[4], chunks[1])


def test_shortcut_target_on_a_hand_computed_case(monkeypatch):
    """Target for a step d from x_t: mean of s(x_t, t, d/2) and s(x_t + d/2 s(x_t, t, d/2), t + d/2, d/2); at the
    finest level the half steps are conditioned on step 0 (instantaneous velocity)."""
    model = make_policy_and_processors(make_config())[0].model
    monkeypatch.setattr(
        model, "velocity", lambda x, t, step, *_, **__: 2 * x + t[:, None, None] + 10 * step[:, None, None]
    )
    x_t = torch.ones(2, 1, 1)
    target = model.shortcut_target(
        x_t,
        t=torch.tensor([0.0, 0.5]),
        step=torch.tensor([0.5, 0.125]),
        is_finest=torch.tensor([False, True]),
        memory=torch.zeros(2, 1, 1),
        memory_mask=torch.zeros(2, 1, dtype=torch.bool),
        action_is_pad=torch.zeros(2, 1, dtype=torch.bool),
    )
    # Sample 0: v1 = 2 + 0 + 2.5 = 4.5; x_mid = 1 + 0.25 * 4.5 = 2.125; v2 = 4.25 + 0.25 + 2.5 = 7.0.
    # Sample 1 (finest, conditioned on 0): v1 = 2 + 0.5 = 2.5; x_mid = 1.15625; v2 = 2.3125 + 0.5625 = 2.875.
    torch.testing.assert_close(target.flatten(), torch.tensor([5.75, 2.6875]))


def test_flow_targets_straight_path_and_shortcut_grid(monkeypatch):
    config = make_config(shortcut_fraction=0.5, max_shortcut_steps=8)
    model = make_policy_and_processors(config)[0].model
    monkeypatch.setattr(model, "velocity", lambda x, t, step, *_, **__: x + step[:, None, None])
    actions = torch.randn(8, config.horizon, ACTION_DIM)
    is_pad = torch.zeros(8, config.horizon, dtype=torch.bool)
    torch.manual_seed(0)
    noise, t = torch.randn_like(actions), torch.rand(8)
    torch.manual_seed(0)
    x_t, t_out, step, target = model.flow_targets(actions, is_pad, torch.zeros(8, 1, 4), is_pad[:, :1])
    n_sc = model.n_shortcut(8)
    assert n_sc == 4
    # Flow matching: x_t on the straight path from noise to the action, target = action - noise, step 0.
    torch.testing.assert_close(t_out[n_sc:], t[n_sc:])
    torch.testing.assert_close(step[n_sc:], torch.zeros(4))
    torch.testing.assert_close(target[n_sc:], (actions - noise)[n_sc:])
    tt = t_out[:, None, None]
    torch.testing.assert_close(x_t, tt * actions + (1 - tt) * noise)
    # Shortcut: steps 1, 1/2, ..., 1/8, times on that step's grid, target from `shortcut_target`.
    assert set(step[:n_sc].tolist()) <= {1.0, 0.5, 0.25, 0.125}
    torch.testing.assert_close(t_out[:n_sc] / step[:n_sc], (t_out[:n_sc] / step[:n_sc]).round())
    expected = model.shortcut_target(
        x_t[:n_sc], t_out[:n_sc], step[:n_sc], step[:n_sc] == 0.125, None, None, is_pad[:n_sc]
    )
    torch.testing.assert_close(target[:n_sc], expected)


def test_a_predicted_sample_is_trained_by_its_absolute_error_and_sampling_lands_on_it(monkeypatch):
    """With `prediction_type="sample"` the decoder's output is the chunk: a flow-matching sample's loss is its
    absolute error to the actions, and the Euler steps from any noise end exactly on the predicted chunk."""
    config = make_config(prediction_type="sample", shortcut_fraction=0.0)
    policy, pre, _ = make_policy_and_processors(config)
    batch = pre(raw_batch(config, batch_size=4))
    monkeypatch.setattr(policy.model, "predict", lambda *_, **__: batch[ACTION] - 0.25)
    loss, info = policy.forward(batch)
    torch.testing.assert_close(loss, torch.tensor(0.25))
    assert info["flow_loss"] == pytest.approx(0.25)

    chunk = torch.randn(4, config.horizon, ACTION_DIM)
    monkeypatch.setattr(policy.model, "predict", lambda *_, **__: chunk)
    observation = {k: v for k, v in batch.items() if k not in (ACTION, "action_is_pad")}
    for steps in (1, 2, 8):
        actions = policy.model.generate_actions(observation, num_inference_steps=steps)
        torch.testing.assert_close(actions, chunk)


def test_text_is_encoded_once_per_distinct_sentence_without_changing_the_result(monkeypatch):
    """Encoding each distinct sentence once, over the batch's real length, gives the loss and the actions of
    encoding every row over all `max_language_tokens` (dropout off: with it, copies of a sentence share a mask)."""
    config = make_config(dropout=0.0)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=5)
    batch["task"] = [TASKS[0], TASKS[1], TASKS[0], TASKS[0], TASKS[1]]
    batch = pre(batch)
    model = policy.model
    encoded_rows = []
    encoder_forward = model.text_encoder.forward
    monkeypatch.setattr(
        model.text_encoder, "forward", lambda x, **kw: encoded_rows.append(len(x)) or encoder_forward(x, **kw)
    )
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        loss = policy.forward(batch)[0]
        policy.eval()
        torch.manual_seed(0)
        results.append((loss, policy.model.generate_actions(batch)))
        policy.train()
        if len(results) == 1:
            assert encoded_rows == [2, 2], "two distinct sentences, each encoded once per pass"

            def every_row_at_full_length(token_ids, attention_mask):
                tokens = model.text_embed(token_ids) + model.text_pos[: token_ids.shape[1]]
                return encoder_forward(tokens, src_key_padding_mask=~attention_mask), attention_mask

            monkeypatch.setattr(model, "encode_text", every_row_at_full_length)
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-5)


def test_with_text_dropout_training_encodes_every_sample_and_inference_each_sentence_once(monkeypatch):
    """Copies of a sentence must not share a dropout mask while training; at inference they are encoded once."""
    config = make_config(dropout=0.1)
    policy, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=5)
    batch["task"] = [TASKS[0], TASKS[1], TASKS[0], TASKS[0], TASKS[1]]
    batch = pre(batch)
    encoded_rows = []
    forward = policy.model.text_encoder.forward
    monkeypatch.setattr(
        policy.model.text_encoder, "forward", lambda x, **kw: encoded_rows.append(len(x)) or forward(x, **kw)
    )
    policy.forward(batch)
    policy.eval()
    policy.model.generate_actions(batch)
    assert encoded_rows == [5, 2]


def test_another_task_sentence_changes_the_actions():
    """The task tokens reach the decoder: same images, state and noise, another sentence, another chunk."""
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    observation = {k: v for k, v in raw_batch(config).items() if k not in (ACTION, "action_is_pad")}
    chunks = []
    for tasks in (TASKS, TASKS, TASKS[::-1]):
        torch.manual_seed(0)
        chunks.append(policy.predict_action_chunk(pre({**observation, "task": list(tasks)})))
    torch.testing.assert_close(chunks[0], chunks[1], rtol=0, atol=0)
    change = (chunks[2] - chunks[0]).abs().mean() / chunks[0].abs().mean()
    assert change > 0.01, f"swapping the task sentences moved the actions by only {change:.2%}"


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


@pytest.mark.parametrize("language_film", [False, True])
def test_gradients_reach_every_trainable_parameter(language_film):
    config = make_config(
        n_cameras=2,
        use_separate_rgb_encoder_per_camera=True,
        shortcut_fraction=0.5,
        language_film=language_film,
    )
    policy, pre, _ = make_policy_and_processors(config)
    loss, _ = policy.forward(pre(raw_batch(config, batch_size=4)))
    loss.backward()
    trainable = {name: p for name, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("model.") for name in trainable), (
        "EMA weights must not be trained"
    )
    missing = [name for name, p in trainable.items() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient reaches {missing}"


def test_cameras_through_one_backbone_pass_give_each_cameras_own_features():
    """The shared backbone encodes all cameras in one batch: each camera's tokens equal those of encoding it alone."""
    config = make_config(n_cameras=2, state=False, use_language=False)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    batch = pre(raw_batch(config, batch_size=3))
    memory, _ = policy.model.encode_observation(batch)
    n_tokens = policy.model.image_pos.shape[1]
    for i, key in enumerate(camera_keys(2)):
        alone = policy.model.backbones[0](policy.model.center_crop(policy.model.resize(batch[key])))
        expected = policy.model.image_proj(alone).flatten(2).transpose(1, 2) + policy.model.image_pos[i]
        torch.testing.assert_close(
            memory[:, i * n_tokens : (i + 1) * n_tokens],
            policy.model.memory_norm(expected),
            rtol=1e-4,
            atol=1e-5,
        )


@pytest.mark.parametrize(("per_sample", "n_positions"), [(False, 1), (True, 16)])
def test_training_crops_are_windows_at_one_position_per_batch_or_per_image(per_sample, n_positions):
    """Each training crop is a window of its image; `random_crop_per_sample` draws the window's position per image
    (16 copies of one image land on 16 distinct positions of the 17x17 there are, for this seed)."""
    config = make_config(
        state=False,
        use_language=False,
        resize_shape=(32, 32),
        crop_ratio=0.5,
        random_crop_per_sample=per_sample,
    )
    policy, _, _ = make_policy_and_processors(config)
    model = policy.model.train()
    images = torch.rand(1, 3, 32, 32).expand(16, -1, -1, -1)
    drawn = []  # what the backbone is given
    model.backbones[0].register_forward_pre_hook(lambda _, args: drawn.append(args[0]))
    torch.manual_seed(0)
    model.encode_cameras({camera_keys(1)[0]: images})
    windows = images[0].unfold(1, 16, 1).unfold(2, 16, 1)  # (C, 17, 17, 16, 16): every 16x16 window
    positions = [
        tuple((windows == c[:, None, None]).all(-1).all(-1).all(0).nonzero().squeeze(0).tolist())
        for c in drawn[0]
    ]
    assert all(len(position) == 2 for position in positions), "a crop is not a window of its image"
    assert len(set(positions)) == n_positions


@pytest.mark.parametrize(
    ("backbone", "stages", "stride"), [("resnet18", 4, 32), ("resnet18", 3, 16), ("resnet50", 2, 8)]
)
def test_one_token_per_feature_map_cell(backbone, stages, stride):
    config = make_config(
        state=False,
        use_language=False,
        resize_shape=(64, 96),
        crop_ratio=1.0,
        vision_backbone=backbone,
        backbone_stages=stages,
    )
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    memory, _ = policy.model.encode_observation(pre(raw_batch(config)))
    assert memory.shape[1] == (64 // stride) * (96 // stride)


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


def test_chunks_that_open_or_close_the_gripper_weigh_more_in_the_loss():
    """Sample 0 closes the gripper, sample 1 only in its padded steps, the others keep it as it is: only sample 0
    is weighted, and the batch's mean loss is the weighted mean of the unweighted per-sample losses."""
    batch = raw_batch(make_config(), batch_size=4)
    batch[ACTION][..., -1] = -3.0
    batch[ACTION][0, 4:, -1] = 3.0
    batch[ACTION][1, 6:, -1] = 3.0
    batch["action_is_pad"][1, 6:] = True
    losses = {}
    for weight in (1.0, 3.0):
        policy, pre, _ = make_policy_and_processors(make_config(gripper_transition_weight=weight))
        torch.manual_seed(0)
        losses[weight] = policy.forward(pre(batch), reduction="none")[0]
    weights = torch.tensor([3.0, 1.0, 1.0, 1.0])
    torch.testing.assert_close(losses[3.0], losses[1.0] * weights / weights.mean())
    torch.testing.assert_close(losses[3.0].mean(), (losses[1.0] * weights).sum() / weights.sum())


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


def test_temporal_ensembling_predicts_every_step_and_averages_the_chunks_for_it(monkeypatch):
    config = make_config(n_action_steps=1, temporal_ensemble_coeff=0.0)  # 0: a plain mean
    policy, _, _ = make_policy_and_processors(config)
    chunks = [torch.randn(2, config.horizon, ACTION_DIM) for _ in range(3)]
    calls = iter(chunks)
    monkeypatch.setattr(policy, "predict_action_chunk", lambda batch: next(calls))

    actions = [policy.select_action({}) for _ in chunks]

    torch.testing.assert_close(actions[0], chunks[0][:, 0])
    torch.testing.assert_close(actions[1], (chunks[0][:, 1] + chunks[1][:, 0]) / 2)
    torch.testing.assert_close(actions[2], (chunks[0][:, 2] + chunks[1][:, 1] + chunks[2][:, 0]) / 3)
    policy.reset()
    monkeypatch.setattr(policy, "predict_action_chunk", lambda batch: chunks[2])
    torch.testing.assert_close(policy.select_action({}), chunks[2][:, 0], msg="reset() must drop the average")


def test_temporal_ensembling_and_rtc_are_not_combined():
    from lerobot.policies.rtc.configuration_rtc import RTCConfig

    with pytest.raises(ValueError, match="enable only one"):
        make_config(n_action_steps=1, temporal_ensemble_coeff=0.01, rtc_config=RTCConfig(enabled=True))


def test_predict_action_chunk_shape():
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    chunk = policy.predict_action_chunk(pre(raw_batch(config, batch_size=2)))
    assert chunk.shape == (2, config.horizon, ACTION_DIM)


@pytest.mark.parametrize("language_film", [False, True])
def test_save_and_load_give_identical_actions(tmp_path, language_film):
    config = make_config(language_film=language_film)
    policy, pre, post = make_policy_and_processors(config)
    batch = raw_batch(config, batch_size=2)
    train_steps(policy, pre, batch)  # so the saved average differs from the live weights
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


@pytest.mark.parametrize("prediction_type", ["velocity", "sample"])
def test_overfits_a_tiny_batch_and_samples_in_one_and_four_steps(prediction_type):
    config = make_config(
        prediction_type=prediction_type,
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
    # fused: the CPU AdamW kernel, ~1.6x faster steps for this ResNet-sized model than the default loop.
    optimizer = torch.optim.AdamW(policy.parameters(), lr=2e-3, weight_decay=0, fused=True)
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


def _observation(config, batch_size: int = 2) -> dict:
    return {k: v for k, v in raw_batch(config, batch_size).items() if k not in (ACTION, "action_is_pad")}


CAMERA = camera_keys(1)[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop(CAMERA), rf"Missing `{CAMERA}`.*--rename_map"),
        (lambda o: o.pop(OBS_STATE), rf"Missing `{OBS_STATE}`"),
        (lambda o: o.pop("task"), "no `task` string"),
        # One channel: the normalizer's (3, 1, 1) statistics would broadcast it to RGB without this check.
        (lambda o: o.update({CAMERA: o[CAMERA][:, :1]}), r"1 channel\(s\), the policy was trained on 3"),
        (lambda o: o.update({CAMERA: o[CAMERA].permute(0, 2, 3, 1)}), "channel"),
        (lambda o: o.update({CAMERA: torch.rand(2, 3, 96, 64)}), "aspect ratio"),
        (lambda o: o.update({CAMERA: (o[CAMERA] * 255).to(torch.uint8)}), "floating-point"),
        (lambda o: o.update({CAMERA: o[CAMERA][None]}), r"\(batch, channels, height, width\)"),
        (lambda o: o[CAMERA].__setitem__((0, 0, 0, 0), float("inf")), "NaN or inf"),
        (lambda o: o.update({OBS_STATE: o[OBS_STATE][:, :3]}), rf"shape \(batch, 5\).*5-D `{OBS_STATE}`"),
        (lambda o: o[OBS_STATE].__setitem__((0, 1), float("nan")), "NaN or inf"),
        (lambda o: o.update({OBS_STATE: o[OBS_STATE].tolist()}), "floating-point tensor"),
    ],
    ids=[
        "missing_camera",
        "missing_state",
        "missing_task",
        "one_channel_image",
        "channels_last_image",
        "other_aspect_ratio",
        "uint8_image",
        "five_dim_image",
        "inf_pixel",
        "wrong_state_size",
        "nan_state",
        "state_as_list",
    ],
)
def test_bad_input_is_refused_before_normalization(change, message):
    """Through the policy's own processors, the way lerobot-eval calls them: the check sees what the user passed."""
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    observation = _observation(config)
    change(observation)
    with pytest.raises(ValueError, match=message):
        policy.select_action(pre(observation))


def test_another_resolution_of_the_same_view_and_an_unbatched_frame_are_accepted():
    config = make_config()
    policy, pre, post = make_policy_and_processors(config)
    policy.eval()
    observation = _observation(config)
    observation[CAMERA] = torch.rand(2, 3, IMAGE_SHAPE[1] * 3 // 2, IMAGE_SHAPE[2] * 3 // 2)
    assert post(policy.select_action(pre(observation))).shape == (2, ACTION_DIM)
    policy.reset()
    single = {CAMERA: observation[CAMERA][0], OBS_STATE: observation[OBS_STATE][0], "task": TASKS[0]}
    assert post(policy.select_action(pre(single))).shape == (1, ACTION_DIM)


def test_a_batch_without_task_tokens_is_refused_by_the_policy():
    """A batch that skips the preprocessor's tokenizer cannot be sampled without its language condition."""
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    batch = pre(_observation(config))
    del batch["observation.language.tokens"]
    with pytest.raises(ValueError, match="no task tokens"):
        policy.predict_action_chunk(batch)


def test_a_saved_processor_keeps_its_input_check(tmp_path):
    config = make_config()
    _, pre, post = make_policy_and_processors(config)
    pre.save_pretrained(tmp_path)
    post.save_pretrained(tmp_path)
    loaded, _ = make_pre_post_processors(config, pretrained_path=str(tmp_path))
    observation = _observation(config)
    observation[CAMERA] = observation[CAMERA][:, :1]
    with pytest.raises(ValueError, match="1 channel"):
        loaded(observation)


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
