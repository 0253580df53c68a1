#!/usr/bin/env python
"""Publish a checkpoint folder written by `report_libero.py` (Hub layout) to the Hugging Face Hub.

The policy goes up with LeRobot's own `push_model_to_hub` (weights, config, train config); the processor files
and our model card (results, provenance, reproduce commands) follow in a second commit, replacing the generic card.

    python -m benchmarks.libero.publish --suites libero_goal,libero_10  # outputs/my_policy_libero_goal_10

The folder and the repository are named after the checkpoint's suites (`report_libero.checkpoint_name`):
`lerobot/my_policy_libero` for the four suites.
"""

import argparse
from pathlib import Path

from benchmarks.libero.report_libero import REPO, checkpoint_name

REQUIRED = ("config.json", "model.safetensors", "train_config.json", "README.md")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suites", default="libero_object,libero_spatial", help="the checkpoint's suites")
    parser.add_argument("--folder", type=Path, help="default: outputs/<checkpoint name>")
    parser.add_argument("--repo-id", help="default: lerobot/<checkpoint name>")
    args = parser.parse_args()
    name = checkpoint_name(args.suites.split(","))
    args.folder = args.folder or REPO / "outputs" / name
    args.repo_id = args.repo_id or f"lerobot/{name}"

    missing = [name for name in REQUIRED if not (args.folder / name).exists()]
    if missing:
        raise SystemExit(
            f"{args.folder} lacks {', '.join(missing)}: build it with `make libero-report LIBERO_SUITES={args.suites}` first"
        )

    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    api = HfApi()
    try:
        user = api.whoami()["name"]
    except OfflineModeIsEnabled:
        raise SystemExit("the Hub is disabled (HF_HUB_OFFLINE=1): unset it to publish") from None
    except Exception as error:  # no network, or no token: both mean we cannot publish from here
        raise SystemExit(
            f"cannot reach the Hugging Face Hub as a logged-in user ({type(error).__name__}: {error}); "
            "publish from a machine with network access after `hf auth login`"
        ) from None

    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.policies.my_policy import MyPolicy

    policy = MyPolicy.from_pretrained(args.folder)
    policy.config.repo_id = args.repo_id
    policy.push_model_to_hub(TrainPipelineConfig.from_pretrained(args.folder))
    api.upload_folder(
        repo_id=args.repo_id,
        folder_path=args.folder,
        allow_patterns=["*processor*.json", "*processor*.safetensors", "README.md"],
        commit_message="Processors and model card (results, data provenance, reproduce commands)",
    )
    print(f"published {args.folder} to https://huggingface.co/{args.repo_id} as {user}")


if __name__ == "__main__":
    main()
