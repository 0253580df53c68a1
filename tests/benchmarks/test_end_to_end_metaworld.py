"""End to end with the stock tools, like upstream's `test-<policy>-ete-*` targets: expert demonstrations ->
`lerobot-train --policy.type=my_policy` -> `lerobot-eval --policy.path=<checkpoint>` on Meta-World, all on CPU
without the Hub; plus 2-process training under `accelerate launch`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.metaworld import record_demos, run_metaworld
from lerobot.datasets import LeRobotDataset
from lerobot.envs.configs import MetaworldEnv as MetaworldEnvConfig
from lerobot.envs.utils import preprocess_observation
from lerobot.utils.constants import ACTION, OBS_IMAGE, OBS_STATE

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e
TASK = "reach-v3"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
SMALL_POLICY = ["--policy.dim_model=64", "--policy.dim_feedforward=128", "--policy.n_decoder_layers=2"]


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("metaworld") / "demos"
    report = record_demos.generate(
        [TASK], demos_per_task=2, root=root, seed=100_000, max_steps=500, max_attempts=3
    )
    assert report[TASK]["demos_kept"] == 2
    return root


def run(cmd: list, cwd: Path) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result.stdout + result.stderr


def train_args(demos: Path, out: Path, steps: int, batch_size: int) -> list[str]:
    return [
        "--policy.type=my_policy",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        *SMALL_POLICY,
        "--dataset.repo_id=local/demos",
        f"--dataset.root={demos}",
        f"--steps={steps}",
        f"--batch_size={batch_size}",
        f"--save_freq={steps}",
        "--log_freq=1",
        "--num_workers=0",
        f"--output_dir={out}",
        "--wandb.enable=false",
    ]


def test_recorded_frames_equal_what_lerobot_env_gives_the_policy(demos):
    """Replaying an episode's seed and actions in LeRobot's env reproduces every recorded observation: the state
    exactly, the camera frame up to the video codec's loss (the dataset stores video, like the Hub's)."""
    dataset = LeRobotDataset("local/demos", root=demos)
    assert dataset.fps == MetaworldEnvConfig().fps
    assert dataset.features[OBS_IMAGE]["shape"] == (480, 480, 3) and OBS_IMAGE in dataset.meta.video_keys
    episode = [dataset[i] for i in range(dataset.meta.episodes["length"][0])]
    assert episode[0]["task"] == record_demos.TASK_DESCRIPTIONS[TASK]

    env = record_demos.make_env(TASK)
    observation, _ = env.reset(seed=100_000)
    rendered = []
    for frame in episode:
        expected = preprocess_observation({k: v[None] for k, v in observation.items()})
        torch.testing.assert_close(frame[OBS_STATE], expected[OBS_STATE][0], rtol=0, atol=0)
        rendered.append(expected[OBS_IMAGE][0])
        observation, *_ = env.step(frame[ACTION].numpy())
    env.close()
    assert np.abs(np.stack([f[ACTION].numpy() for f in episode])).max() <= 1.0

    recorded, rendered = torch.stack([f[OBS_IMAGE] for f in episode]), torch.stack(rendered)
    error = (recorded - rendered).abs().mean(dim=(1, 2, 3))
    assert error.max() < 0.015, f"frames differ by up to {error.max():.4f} (mean absolute, in [0, 1])"
    # The codec's loss is below what one step or a flip changes: each frame is that step's, the right way up.
    for shifted in [(recorded[1:], rendered[:-1]), (recorded[:-1], rendered[1:])]:
        assert (shifted[0] - shifted[1]).abs().mean() > error.mean() * 1.1
    assert (recorded - rendered.flip(-2)).abs().mean() > 10 * error.mean()


def test_train_then_eval_with_stock_tools(demos, tmp_path):
    log = run(
        [BIN / "lerobot-train", *train_args(demos, tmp_path / "train", steps=3, batch_size=4)], cwd=REPO
    )
    assert "step:3" in log
    checkpoint = tmp_path / "train/checkpoints/last/pretrained_model"
    assert json.loads((checkpoint / "config.json").read_text())["type"] == "my_policy"

    run(
        [
            BIN / "lerobot-eval",
            f"--policy.path={checkpoint}",
            "--env.type=metaworld",
            f"--env.task={TASK}",
            "--eval.n_episodes=1",
            "--eval.batch_size=1",
            f"--output_dir={tmp_path / 'eval'}",
        ],
        cwd=REPO,
    )
    info = json.loads((tmp_path / "eval/eval_info.json").read_text())
    # The grid reads each episode's success per task from lerobot-eval's real output.
    (successes,) = run_metaworld.episode_successes(info).values()
    assert len(successes) == info["overall"]["n_episodes"] == 1
    assert info["overall"]["pc_success"] == 100.0 * successes[0]


def test_two_process_training_with_accelerate(demos, tmp_path):
    """Upstream's multi-GPU path on 2 CPU processes (DDP over gloo). `--multi_gpu` without GPUs launches the
    processes on CPU; `--cpu` would make accelerate run a single process."""
    cmd = [
        BIN / "accelerate",
        "launch",
        "--multi_gpu",
        "--num_processes=2",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        "--main_process_port=29533",
        BIN / "lerobot-train",
        *train_args(demos, tmp_path / "ddp", steps=2, batch_size=2),
    ]
    log = run(cmd, cwd=REPO)
    assert "Effective batch size: 2 x 2 = 4" in log
    assert (tmp_path / "ddp/checkpoints/last/pretrained_model/model.safetensors").is_file()
