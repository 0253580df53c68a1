"""Inference latency and training throughput of my_policy vs ACT vs Diffusion, in one process, one run.

All policies see the same inputs: what `lerobot-eval --env.type=metaworld` gives them (one 480x480 camera, 4-D
state, 4-D action), normalized with unit statistics. Upstream defaults are kept except where CPU/offline forces a
change, applied to all alike: no pretrained backbone weights (the Hub is unreachable) and `device=cpu`.

- chunk_ms: one `select_action` call right after `reset()`, i.e. a full chunk inference (batch 1).
- select_action_ms_p50: per env step over 4 chunks' worth of steps (amortized over the action queue).
- train_samples_per_s: forward + backward + AdamW step on a random batch of `--train-batch-size`.

    python -m benchmarks.latency --out benchmarks/results/latency.json
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

import lerobot
from benchmarks import machine
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.my_policy import MyPolicyConfig
from lerobot.utils.constants import ACTION, OBS_IMAGE, OBS_STATE

IMAGE = (3, 480, 480)
STATE_DIM = ACTION_DIM = 4
TASK = "reach the goal position"


def features() -> tuple[dict, dict]:
    inputs = {
        OBS_IMAGE: PolicyFeature(FeatureType.VISUAL, IMAGE),
        OBS_STATE: PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
    }
    return inputs, {ACTION: PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}


def configs() -> dict:
    inputs, outputs = features()
    common = {"input_features": inputs, "output_features": outputs, "device": "cpu"}
    return {
        "my_policy": MyPolicyConfig(**common),
        "my_policy_1step": MyPolicyConfig(**common, num_inference_steps=1),
        "act": ACTConfig(**common, pretrained_backbone_weights=None),
        "diffusion": DiffusionConfig(**common, pretrained_backbone_weights=None),
    }


def nfe(config) -> int:
    """Network evaluations per chunk (the action generator's, not counting the observation encoder)."""
    if isinstance(config, MyPolicyConfig):
        return config.num_inference_steps
    if isinstance(config, DiffusionConfig):
        return config.num_inference_steps or config.num_train_timesteps
    return 1


def stats() -> dict:
    unit = {"mean": torch.zeros(1), "std": torch.ones(1), "min": -torch.ones(1), "max": torch.ones(1)}
    return {
        OBS_IMAGE: {k: v.expand(3).reshape(3, 1, 1).clone() for k, v in unit.items()},
        OBS_STATE: {k: v.expand(STATE_DIM).clone() for k, v in unit.items()},
        ACTION: {k: v.expand(ACTION_DIM).clone() for k, v in unit.items()},
    }


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def measure(name: str, config, chunk_repeats: int, train_steps: int, train_batch_size: int) -> dict:
    torch.manual_seed(0)
    policy = get_policy_class(config.type)(config)
    pre, _ = make_pre_post_processors(config, dataset_stats=stats())
    observation = {OBS_IMAGE: torch.rand(*IMAGE), OBS_STATE: torch.randn(STATE_DIM), "task": TASK}
    batch = pre(observation)

    policy.eval()
    with torch.inference_mode():
        chunk_ms = []
        for i in range(chunk_repeats + 1):
            policy.reset()
            start = time.perf_counter()
            policy.select_action(dict(batch))
            if i:  # the first call warms up
                chunk_ms.append((time.perf_counter() - start) * 1e3)
        policy.reset()
        n_steps = 4 * config.n_action_steps
        step_ms = []
        for _ in range(n_steps):
            start = time.perf_counter()
            policy.select_action(dict(batch))
            step_ms.append((time.perf_counter() - start) * 1e3)

    policy.train()
    horizon = len(config.action_delta_indices)
    n_obs = len(config.observation_delta_indices or [0])
    train_batch = {
        OBS_IMAGE: torch.rand(train_batch_size, *([n_obs] if n_obs > 1 else []), *IMAGE),
        OBS_STATE: torch.randn(train_batch_size, *([n_obs] if n_obs > 1 else []), STATE_DIM),
        ACTION: torch.randn(train_batch_size, horizon, ACTION_DIM),
        "action_is_pad": torch.zeros(train_batch_size, horizon, dtype=torch.bool),
        "task": [TASK] * train_batch_size,
    }
    train_batch = pre(train_batch)
    optimizer = config.get_optimizer_preset().build(policy.get_optim_params())
    durations = []
    for i in range(train_steps + 1):
        start = time.perf_counter()
        loss, _ = policy.forward(train_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i:
            durations.append(time.perf_counter() - start)
    trainable = machine.trainable_params(policy)
    result = {
        "nfe": nfe(config),
        "chunk_ms_p50": round(statistics.median(chunk_ms), 2),
        "chunk_ms_p95": round(percentile(chunk_ms, 95), 2),
        "select_action_ms_p50": round(statistics.median(step_ms), 3),
        "select_action_ms_mean": round(statistics.mean(step_ms), 3),
        "n_action_steps": config.n_action_steps,
        "train_samples_per_s": round(train_batch_size * len(durations) / sum(durations), 2),
        "params": trainable,
    }
    print(name, json.dumps(result))
    return result


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["policies"])
    chunk = [results["policies"][n]["chunk_ms_p50"] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = ax.barh(names, chunk, color=["#ff9d00" if n.startswith("my_policy") else "#888" for n in names])
    ax.bar_label(bars, fmt="%.0f ms")
    ax.set_xscale("log")
    ax.set_xlabel("chunk inference latency, p50 (ms, log scale, batch 1)")
    ax.set_title(f"CPU: {results['hardware']}, {results['threads']} threads", fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def chunk_ratios(policies: dict[str, dict]) -> dict[str, float]:
    """Each other policy's chunk latency (p50) over my_policy's: above 1, my_policy is faster."""
    base = policies["my_policy"]["chunk_ms_p50"]
    return {
        f"{other}_chunk_over_my_policy": round(policies[other]["chunk_ms_p50"] / base, 2)
        for other in policies
        if other != "my_policy"
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latency.json"))
    parser.add_argument("--chunk-repeats", type=int, default=20)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--train-batch-size", type=int, default=8)
    parser.add_argument("--policies", default="my_policy,my_policy_1step,act,diffusion")
    args = parser.parse_args()

    results = {
        **machine.provenance(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "upstream_version": lerobot.__version__,
        # As `lerobot-train` runs in the Meta-World benchmark (`machine.with_jemalloc`).
        "allocator": "jemalloc" if "jemalloc" in os.environ.get("LD_PRELOAD", "") else "glibc",
        "batch_size": 1,
        "image_shape": list(IMAGE),
        "train_batch_size": args.train_batch_size,
        "policies": {},
    }
    all_configs = configs()
    for name in args.policies.split(","):
        results["policies"][name] = measure(
            name, all_configs[name], args.chunk_repeats, args.train_steps, args.train_batch_size
        )
    if "my_policy" in results["policies"]:
        results["ratios"] = chunk_ratios(results["policies"])
    machine.write_json(args.out, results)
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    machine.rerun_with_jemalloc()
    main()
