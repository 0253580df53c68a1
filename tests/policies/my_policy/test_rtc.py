"""Real-Time Chunking: my_policy's Euler loop guided by LeRobot's RTCProcessor toward the previous chunk."""

import pytest
import torch
from my_policy_helpers import make_config, make_policy_and_processors, raw_batch

from lerobot.policies.my_policy import MyPolicy
from lerobot.policies.rtc import RTCConfig
from lerobot.rollout.inference.rtc import supports_rtc_inference
from lerobot.utils.constants import ACTION


def observation_batch(config, pre):
    raw = raw_batch(config, batch_size=2)
    return pre({k: v for k, v in raw.items() if k not in (ACTION, "action_is_pad")})


def chunk(policy, batch, **rtc) -> torch.Tensor:
    torch.manual_seed(0)
    return policy.predict_action_chunk(batch, **rtc)


def test_lerobot_rollout_turns_rtc_on_for_a_loaded_policy(tmp_path):
    """What lerobot-rollout does with `--inference.type=rtc`: check the call shape, set the policy's rtc_config,
    call `init_rtc_processor()`; the next chunk is then guided."""
    config = make_config()
    policy, pre, _ = make_policy_and_processors(config)
    policy.save_pretrained(tmp_path)
    loaded = MyPolicy.from_pretrained(tmp_path)
    loaded.eval()
    assert loaded.supports_rtc() and supports_rtc_inference(loaded)
    batch = observation_batch(config, pre)
    free = chunk(loaded, batch)
    prefix = free[:, :4] + 1.0
    assert torch.equal(chunk(loaded, batch, inference_delay=2, prev_chunk_left_over=prefix), free), (
        "RTC is off"
    )
    loaded.config.rtc_config = RTCConfig(execution_horizon=4)
    loaded.init_rtc_processor()
    assert not torch.equal(chunk(loaded, batch, inference_delay=2, prev_chunk_left_over=prefix), free)


@pytest.mark.parametrize("steps", [1, 4])
def test_without_a_previous_chunk_rtc_changes_nothing(steps):
    config = make_config(num_inference_steps=steps)
    plain, pre, _ = make_policy_and_processors(config)
    plain.eval()
    batch = observation_batch(config, pre)
    with_rtc, _, _ = make_policy_and_processors(
        make_config(num_inference_steps=steps, rtc_config=RTCConfig())
    )
    with_rtc.load_state_dict(plain.state_dict())
    with_rtc.eval()
    expected = chunk(plain, batch)
    torch.testing.assert_close(chunk(with_rtc, batch), expected, rtol=0, atol=0)
    torch.testing.assert_close(
        chunk(with_rtc, batch, inference_delay=2, prev_chunk_left_over=None), expected, rtol=0, atol=0
    )


@pytest.mark.parametrize(
    ("steps", "max_guidance_weight"),
    # One step takes the whole guided jump at once: a weight above 1 overshoots the prefix by (weight - 1) times
    # the gap (the default 10 suits many-step samplers), so one-step mode is guided with weight 1.
    [(4, 10.0), (1, 1.0)],
)
def test_a_previous_chunk_pulls_the_first_actions_toward_it(steps, max_guidance_weight):
    rtc = RTCConfig(execution_horizon=6, max_guidance_weight=max_guidance_weight)
    config = make_config(num_inference_steps=steps, rtc_config=rtc)
    policy, pre, _ = make_policy_and_processors(config)
    policy.eval()
    batch = observation_batch(config, pre)
    free = chunk(policy, batch)
    prefix = free[:, :6] + 1.5  # a previous chunk's leftover, well away from what the policy would do alone
    guided = chunk(policy, batch, inference_delay=3, prev_chunk_left_over=prefix)
    before = (free[:, :3] - prefix[:, :3]).abs().mean()
    after = (guided[:, :3] - prefix[:, :3]).abs().mean()
    assert after < 0.5 * before, f"the first actions are {after:.3f} from the prefix, {before:.3f} unguided"
    # Past the execution horizon nothing is guided: the tail moves only through the network's dependencies.
    assert (guided[:, 6:] - free[:, 6:]).abs().mean() < before


def test_rtc_config_is_saved_with_the_policy(tmp_path):
    config = make_config(rtc_config=RTCConfig(execution_horizon=5, max_guidance_weight=3.0))
    policy, _, _ = make_policy_and_processors(config)
    policy.save_pretrained(tmp_path)
    loaded = MyPolicy.from_pretrained(tmp_path)
    assert loaded.config.rtc_config == config.rtc_config and loaded.rtc_processor is not None
