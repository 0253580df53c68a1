"""Shared by the checkpoint diagnostics (`input_sensitivity.py`, `chunk_roughness.py`): which checkpoint and frames
they read, and the results file they write."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks import machine


@dataclass(frozen=True)
class Diagnostic:
    """A trained my_policy checkpoint, a local dataset it was trained on, the seed of the frames drawn from it,
    and where the result goes."""

    checkpoint: Path
    dataset_root: Path
    seed: int
    output: Path

    @classmethod
    def from_command_line(
        cls, description: str, frames_option: str, frames_default: int
    ) -> tuple[Diagnostic, int]:
        """The diagnostic and its frame count (`--<frames_option>`) from the command line."""
        parser = argparse.ArgumentParser(
            description=description, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument("checkpoint", type=Path, help="a my_policy pretrained_model folder")
        parser.add_argument(
            "--dataset-root", type=Path, required=True, help="a local LeRobotDataset it was trained on"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument(f"--{frames_option}", type=int, default=frames_default)
        args = parser.parse_args()
        # A missing folder would otherwise reach `from_pretrained`, which reads the path as a Hub repo id.
        if not (args.checkpoint / "config.json").is_file():
            parser.error(
                f"{args.checkpoint} is not a pretrained_model folder (no config.json): train it first"
            )
        if not (args.dataset_root / "meta" / "info.json").is_file():
            parser.error(f"{args.dataset_root} is not a local LeRobotDataset (no meta/info.json)")
        return cls(args.checkpoint, args.dataset_root, args.seed, args.output), getattr(args, frames_option)

    def load_frames(self, n_frames: int) -> tuple:
        """The policy (eval mode), its preprocessor, and `n_frames` random frames of the dataset preprocessed by
        it, with their demonstrated action chunks."""
        from torch.utils.data import default_collate

        from lerobot.datasets import LeRobotDatasetMetadata
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
        from lerobot.policies.factory import make_pre_post_processors
        from lerobot.policies.my_policy import MyPolicy

        policy = MyPolicy.from_pretrained(self.checkpoint).eval()
        preprocessor, _ = make_pre_post_processors(policy.config, pretrained_path=str(self.checkpoint))
        root = self.dataset_root
        fps = LeRobotDatasetMetadata(f"local/{root.name}", root=root).fps
        dataset = LeRobotDataset(
            f"local/{root.name}",
            root=root,
            delta_timestamps={"action": [i / fps for i in policy.config.action_delta_indices]},
        )
        frames = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))[:n_frames]
        return policy, preprocessor, preprocessor(default_collate([dataset[i] for i in frames.tolist()]))

    def write_result(self, fields: dict, measured: str) -> None:
        """Write the diagnostic's JSON (with where it ran) and print its `measured` entry."""
        result = {
            "checkpoint": str(self.checkpoint),
            "dataset_root": str(self.dataset_root),
            "seed": self.seed,
            **fields,
            **machine.provenance(),
        }
        machine.write_json(self.output, result)
        print(json.dumps(result[measured]))
