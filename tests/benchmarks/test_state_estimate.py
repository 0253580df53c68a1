"""The state-estimate diagnostic: errors per body in cm, in the simulator's units."""

import numpy as np
import torch
from my_policy_helpers import make_config, make_policy_and_processors, raw_batch

from benchmarks.metaworld import state_estimate
from lerobot.utils.constants import OBS_ENV_STATE


def test_errors_are_mean_distances_per_body_in_cm():
    actual = np.zeros((2, 9))
    predicted = actual.copy()
    predicted[0, 0:3] = [0.03, 0.04, 0.0]  # object 5 cm off in the first frame, exact in the second
    predicted[:, 6:9] = [0.0, 0.0, 0.01]  # goal 1 cm off in both
    assert state_estimate.errors_cm(predicted, actual) == {"object": 2.5, "object2": 0.0, "goal": 1.0}


def test_the_preprocessors_normalization_is_undone():
    config = make_config(env_state=True, environment_state_loss_weight=1.0)
    _, pre, _ = make_policy_and_processors(config)
    batch = raw_batch(config)
    normalized = pre(batch)[OBS_ENV_STATE]
    assert not torch.allclose(normalized, batch[OBS_ENV_STATE])
    np.testing.assert_allclose(
        state_estimate.in_simulator_units(normalized, pre), batch[OBS_ENV_STATE].numpy(), atol=1e-6
    )
