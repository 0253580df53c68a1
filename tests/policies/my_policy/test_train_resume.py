"""`lerobot-train --policy.type=my_policy` on a small dataset the test writes itself (no Hub, no simulator):
training runs with the stock CLI, and `--resume` from a checkpoint continues exactly where an uninterrupted run
would be, EMA and optimizer state included."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lerobot.datasets import LeRobotDataset
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

BIN = Path(sys.executable).parent
CAMERA = f"{OBS_IMAGES}.front"
TASKS = ["pick up the red block", "open the top drawer"]


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    """Two 10-frame episodes of random 32x40 frames, a 4-D state, a 3-D action and a task sentence each."""
    root = tmp_path_factory.mktemp("data") / "tiny"
    features = {
        CAMERA: {"dtype": "image", "shape": (32, 40, 3), "names": ["height", "width", "channels"]},
        OBS_STATE: {"dtype": "float32", "shape": (4,), "names": [f"q{i}" for i in range(4)]},
        ACTION: {"dtype": "float32", "shape": (3,), "names": ["dx", "dy", "dz"]},
    }
    dataset = LeRobotDataset.create(
        repo_id="local/tiny", fps=10, features=features, root=root, use_videos=False
    )
    rng = np.random.default_rng(0)
    for task in TASKS:
        for _ in range(10):
            dataset.add_frame(
                {
                    CAMERA: rng.integers(0, 256, (32, 40, 3), dtype=np.uint8),
                    OBS_STATE: rng.standard_normal(4).astype(np.float32),
                    ACTION: rng.uniform(-1, 1, 3).astype(np.float32),
                    "task": task,
                }
            )
        dataset.save_episode()
    dataset.finalize()
    return root


def lerobot_train(*args: str) -> str:
    result = subprocess.run(
        [BIN / "lerobot-train", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert result.returncode == 0, f"lerobot-train failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs(dataset_root, tmp_path_factory) -> dict[str, dict]:
    """Weights at step 4 of one uninterrupted run, and of the same run stopped after step 2 and resumed."""
    out = tmp_path_factory.mktemp("train") / "run"
    log = lerobot_train(
        "--policy.type=my_policy",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        "--policy.dim_model=32",
        "--policy.n_heads=2",
        "--policy.dim_feedforward=64",
        "--policy.n_decoder_layers=1",
        "--policy.n_text_layers=1",
        "--policy.resize_shape=[32,32]",
        "--policy.horizon=4",
        "--policy.n_action_steps=2",
        "--dataset.repo_id=local/tiny",
        f"--dataset.root={dataset_root}",
        "--batch_size=4",
        "--steps=4",
        "--save_freq=2",
        "--log_freq=1",
        "--num_workers=0",
        "--seed=1000",
        f"--output_dir={out}",
        "--wandb.enable=false",
    )
    assert "step:4" in log
    checkpoints = out / "checkpoints"
    uninterrupted = load_file(checkpoints / "000004/pretrained_model/model.safetensors")
    shutil.rmtree(checkpoints / "000004")
    (checkpoints / "last").unlink()
    (checkpoints / "last").symlink_to("000002")
    lerobot_train(f"--config_path={checkpoints / 'last/pretrained_model/train_config.json'}", "--resume=true")
    resumed = load_file(checkpoints / "000004/pretrained_model/model.safetensors")
    return {"uninterrupted": uninterrupted, "resumed": resumed}


def test_resume_restores_the_weights_and_their_average(runs):
    uninterrupted, resumed = runs["uninterrupted"], runs["resumed"]
    assert resumed.keys() == uninterrupted.keys()
    assert any(key.startswith("ema.module.") for key in uninterrupted), (
        "the EMA must be saved with the weights"
    )
    # The average counts every update across the resume (its warm-up depends on that count).
    assert uninterrupted["ema.n_averaged"].item() == resumed["ema.n_averaged"].item() == 4
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=1e-2, msg=key)


@pytest.mark.xfail(
    strict=True,
    reason="upstream lerobot-train: on --resume, `iter(dataloader)` draws the DataLoader's base seed from the "
    "global torch RNG after the checkpoint's RNG state is restored, shifting every later random draw by one. "
    "Passing the DataLoader its own `generator=` makes this test pass bit for bit (checked on lerobot 0.6.1).",
)
def test_resume_continues_bit_for_bit(runs):
    for key, value in runs["uninterrupted"].items():
        assert torch.equal(runs["resumed"][key], value), f"{key} differs after resuming at step 2"
