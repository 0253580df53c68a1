"""Regenerate the backward-compatibility artifacts of my_policy (run `make artifacts`).

For a fixed seed and a fixed synthetic batch it stores the training loss terms, gradient and parameter
statistics after one optimizer step, and the predicted action chunk. `test_backward_compatibility.py` recomputes
them: a change that alters numerics for existing checkpoints shows up there and must regenerate these files
deliberately, in its own commit.
"""

from pathlib import Path

import torch
from my_policy_helpers import make_config, make_policy_and_processors, raw_batch
from safetensors.torch import save_file

from lerobot.utils.constants import ACTION

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts/policies/my_policy"
CASES = {
    "two_cameras_language": {"n_cameras": 2},
    "one_camera_no_language": {"n_cameras": 1, "use_language": False},
}


def compute(case: str) -> dict[str, dict[str, torch.Tensor]]:
    config = make_config(**CASES[case])
    policy, pre, post = make_policy_and_processors(config, seed=0)
    batch = pre(raw_batch(config, batch_size=4, seed=1))
    optimizer = torch.optim.AdamW(policy.get_optim_params(), lr=1e-3)

    torch.manual_seed(2)
    loss, info = policy.forward(batch)
    loss.backward()
    output = {"loss": loss.detach(), **{k: torch.tensor(v) for k, v in info.items()}}
    grads = {}
    for name, param in policy.model.named_parameters():
        grads[f"{name}_mean"] = param.grad.mean()
        grads[f"{name}_std"] = param.grad.std() if param.numel() > 1 else param.grad.abs()
    optimizer.step()
    policy.update()
    params = {}
    for name, param in policy.named_parameters():
        params[f"{name}_mean"] = param.detach().mean()
        params[f"{name}_std"] = param.detach().std() if param.numel() > 1 else param.detach().abs()

    policy.eval()
    observation = pre(
        {
            k: v
            for k, v in raw_batch(config, batch_size=2, seed=3).items()
            if k not in (ACTION, "action_is_pad")
        }
    )
    torch.manual_seed(4)
    actions = post(policy.predict_action_chunk(observation))
    return {
        "output_dict": output,
        "grad_stats": grads,
        "param_stats": params,
        "actions": {"actions": actions},
    }


def main() -> None:
    for case in CASES:
        for name, tensors in compute(case).items():
            path = ARTIFACTS / case / f"{name}.safetensors"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file({k: v.contiguous() for k, v in tensors.items()}, path)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
