"""What one training sample costs on this CPU, and where the time goes: my_policy vs ACT vs Diffusion.

One process, one run, so the ratios are measured side by side. Two input shapes:
- `libero`: two 256x256 cameras, 8-D state, 7-D action, the task sentence of one of libero_object's ten tasks
  per sample (as `lerobot/libero` and `make libero-demos` give them);
- `metaworld`: one 480x480 camera, 4-D state, 4-D action, one task sentence (`make bench-metaworld`).

Per policy and shape: milliseconds per training sample of `lerobot-train`'s update (preprocessor excluded,
forward + backward + gradient clipping + the policy's preset optimizer step, batch `--batch-size`, median over
`--steps` steps after one warm-up step). `my_policy_before` is my_policy with the defaults of commit b6c2e84 set
explicitly. For my_policy, the same step split into the camera encoder, the task-sentence encoder, the optimizer
step and the rest (decoder, flow/shortcut targets), each timed alone on the same batch (forward + backward).
Then the dataset: milliseconds per random sample (`dataset[i]`, the camera frames decoded from video and the
action chunk, one thread, as each DataLoader worker does) on a synthetic dataset of each shape written like our
recorders write theirs; and `lerobot-train`'s own samples/s on short runs over the LIBERO-shaped one: with the
defaults, with the LIBERO recipe, and with the recipe under `torchrun` (two single-threaded data-parallel processes,
as `make libero-train` runs it).

    python -m benchmarks.train_cost --out benchmarks/results/train_cost.json
"""

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import lerobot
from benchmarks import machine
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.my_policy import MyPolicyConfig
from lerobot.utils.constants import ACTION, OBS_IMAGE, OBS_IMAGES, OBS_STATE

LIBERO_OBJECT_TASKS = [
    "pick up the alphabet soup and place it in the basket",
    "pick up the cream cheese and place it in the basket",
    "pick up the salad dressing and place it in the basket",
    "pick up the bbq sauce and place it in the basket",
    "pick up the ketchup and place it in the basket",
    "pick up the tomato sauce and place it in the basket",
    "pick up the butter and place it in the basket",
    "pick up the milk and place it in the basket",
    "pick up the chocolate pudding and place it in the basket",
    "pick up the orange juice and place it in the basket",
]

# my_policy's defaults as of commit b6c2e84, set explicitly so later default changes are measured against them.
MY_POLICY_BEFORE = {
    "resize_shape": (128, 128),
    "crop_ratio": 0.9,
    "vision_backbone": "resnet18",
    "use_language": True,
    "max_language_tokens": 96,
    "n_text_layers": 2,
    "dim_model": 256,
    "n_heads": 4,
    "dim_feedforward": 1024,
    "n_decoder_layers": 4,
    "horizon": 16,
    "n_action_steps": 8,
    "shortcut_fraction": 0.25,
    "use_ema": True,
}


@dataclass(frozen=True)
class Shape:
    cameras: dict[str, tuple[int, int, int]]
    state_dim: int
    action_dim: int
    tasks: list[str]
    fps: int

    def features(self) -> tuple[dict[str, PolicyFeature], dict[str, PolicyFeature]]:
        inputs = {key: PolicyFeature(FeatureType.VISUAL, shape) for key, shape in self.cameras.items()}
        inputs[OBS_STATE] = PolicyFeature(FeatureType.STATE, (self.state_dim,))
        return inputs, {ACTION: PolicyFeature(FeatureType.ACTION, (self.action_dim,))}

    def stats(self) -> dict[str, dict[str, torch.Tensor]]:
        def unit(n: int, shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
            return {
                "mean": torch.zeros(n).reshape(shape),
                "std": torch.ones(n).reshape(shape),
                "min": -torch.ones(n).reshape(shape),
                "max": torch.ones(n).reshape(shape),
            }

        stats = {key: unit(3, (3, 1, 1)) for key in self.cameras}
        stats[OBS_STATE] = unit(self.state_dim, (self.state_dim,))
        stats[ACTION] = unit(self.action_dim, (self.action_dim,))
        return stats


SHAPES = {
    "libero": Shape(
        cameras={f"{OBS_IMAGES}.image": (3, 256, 256), f"{OBS_IMAGES}.image2": (3, 256, 256)},
        state_dim=8,
        action_dim=7,
        tasks=LIBERO_OBJECT_TASKS,
        fps=20,
    ),
    "metaworld": Shape(
        cameras={OBS_IMAGE: (3, 480, 480)},
        state_dim=4,
        action_dim=4,
        tasks=["push the puck to a goal"],
        fps=80,
    ),
}


POLICIES = ("my_policy", "my_policy_before", "my_policy_96px", "my_policy_96px_3stages", "act", "diffusion")


@dataclass
class Settings:
    out: Path
    batch_size: int = 16
    steps: int = 10
    policies: list[str] = field(default_factory=lambda: list(POLICIES))
    shapes: list[str] = field(default_factory=lambda: list(SHAPES))
    data_samples: int = 64
    train_run_steps: int = 60


def make_config(name: str, shape: Shape):
    inputs, outputs = shape.features()
    common = {"input_features": inputs, "output_features": outputs, "device": "cpu"}
    if name == "my_policy":
        return MyPolicyConfig(**common)
    if name == "my_policy_before":
        return MyPolicyConfig(**common, **MY_POLICY_BEFORE)
    if name == "my_policy_96px":  # a lever, not a default: smaller camera input
        return MyPolicyConfig(**common, resize_shape=(96, 96))
    if name == "my_policy_96px_3stages":  # and a ResNet without its last stage: 4x the camera tokens
        return MyPolicyConfig(**common, resize_shape=(96, 96), backbone_stages=3)
    if name == "act":
        return ACTConfig(**common, pretrained_backbone_weights=None)
    if name == "diffusion":
        # Diffusion crops to a fixed size: the LIBERO frames are smaller than its default 84x84 crop of 96x96.
        return DiffusionConfig(**common, pretrained_backbone_weights=None)
    raise ValueError(f"unknown policy {name!r}")


def random_batch(config, shape: Shape, batch_size: int, seed: int = 0) -> dict:
    """An un-normalized batch as the dataset gives it: images in [0, 1], a task sentence per sample."""
    g = torch.Generator().manual_seed(seed)
    n_obs = config.n_obs_steps
    obs_dims = [n_obs] if n_obs > 1 else []
    horizon = len(config.action_delta_indices)
    batch = {
        key: torch.rand(batch_size, *obs_dims, *dims, generator=g) for key, dims in shape.cameras.items()
    }
    batch[OBS_STATE] = torch.randn(batch_size, *obs_dims, shape.state_dim, generator=g)
    batch[ACTION] = torch.randn(batch_size, horizon, shape.action_dim, generator=g)
    batch["action_is_pad"] = torch.zeros(batch_size, horizon, dtype=torch.bool)
    picks = torch.randint(len(shape.tasks), (batch_size,), generator=g).tolist()
    batch["task"] = [shape.tasks[i] for i in picks]
    return batch


def median_ms(fn: Callable[[], None], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def measure_policy(name: str, shape: Shape, settings: Settings) -> dict:
    torch.manual_seed(0)
    config = make_config(name, shape)
    policy = get_policy_class(config.type)(config)
    policy.train()
    pre, _ = make_pre_post_processors(config, dataset_stats=shape.stats())
    raw = random_batch(config, shape, settings.batch_size)
    batch = pre(raw)
    optimizer = config.get_optimizer_preset().build(policy.get_optim_params())
    clip = config.get_optimizer_preset().grad_clip_norm

    def step() -> None:
        loss, _ = policy.forward(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
        if hasattr(policy, "update"):  # as lerobot-train does: my_policy's EMA
            policy.update()

    n = settings.batch_size
    result = {
        "ms_per_sample": round(median_ms(step, settings.steps) / n, 2),
        "preprocessor_ms_per_sample": round(median_ms(lambda: pre(raw), settings.steps) / n, 2),
        "trainable_params": machine.trainable_params(policy),
    }
    if isinstance(config, MyPolicyConfig):
        result["breakdown_ms_per_sample"] = my_policy_breakdown(policy, batch, optimizer, settings)
    print(f"{name} on {shape_name(shape)}: {json.dumps(result)}", flush=True)
    return result


def my_policy_breakdown(policy, batch: dict, optimizer, settings: Settings) -> dict[str, float]:
    """The update split in parts, each timed alone (forward + backward) on the batch of the whole step."""
    from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

    model = policy.model
    n = settings.batch_size

    def vision() -> None:
        torch.cat(model.encode_cameras(batch), dim=1).sum().backward()

    def language() -> None:
        mask = batch[OBS_LANGUAGE_ATTENTION_MASK].bool()
        model.encode_text(batch[OBS_LANGUAGE_TOKENS], mask)[0].sum().backward()

    def whole() -> None:
        policy.forward(batch)[0].backward()

    def optimizer_step() -> None:
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    parts = {
        "forward_backward": median_ms(whole, settings.steps),
        "vision": median_ms(vision, settings.steps),
    }
    parts["language"] = median_ms(language, settings.steps) if policy.config.use_language else 0.0
    whole()  # gradients in place, so the optimizer step is timed on real ones
    parts["optimizer"] = median_ms(optimizer_step, settings.steps)
    parts["ema"] = median_ms(policy.update, settings.steps)
    optimizer.zero_grad()
    parts["decoder_and_targets"] = parts["forward_backward"] - parts["vision"] - parts["language"]
    return {key: round(value / n, 2) for key, value in parts.items()}


def shape_name(shape: Shape) -> str:
    return next(name for name, s in SHAPES.items() if s is shape)


def write_dataset(shape: Shape, root: Path, episodes: int = 4, length: int = 100) -> None:
    """A synthetic dataset of `shape`, stored like our recorders store theirs (video, streaming encoding):
    smooth moving frames, so the codec sees content like a simulator's rather than noise."""
    from lerobot.datasets import LeRobotDataset

    features = {
        key: {"dtype": "video", "shape": (h, w, c), "names": ["height", "width", "channels"]}
        for key, (c, h, w) in shape.cameras.items()
    }
    features[OBS_STATE] = {"dtype": "float32", "shape": (shape.state_dim,), "names": None}
    features[ACTION] = {"dtype": "float32", "shape": (shape.action_dim,), "names": None}
    dataset = LeRobotDataset.create(
        repo_id=f"local/{root.name}",
        fps=shape.fps,
        features=features,
        root=root,
        use_videos=True,
        streaming_encoding=True,
    )
    rng = np.random.default_rng(0)
    for episode in range(episodes):
        for t in range(length):
            frame = {}
            for key, (_, h, w) in shape.cameras.items():
                y, x = np.mgrid[0:h, 0:w]
                phase = t / 10 + episode
                image = np.stack(
                    [np.sin(x / 17 + phase), np.cos(y / 23 - phase), np.sin((x + y) / 31 + 2 * phase)],
                    axis=-1,
                )
                frame[key] = ((image + 1) * 127.5).astype(np.uint8)
            frame[OBS_STATE] = rng.standard_normal(shape.state_dim).astype(np.float32)
            frame[ACTION] = rng.uniform(-1, 1, shape.action_dim).astype(np.float32)
            dataset.add_frame({**frame, "task": shape.tasks[episode % len(shape.tasks)]})
        dataset.save_episode()
    dataset.finalize()


def data_ms_per_sample(shape: Shape, root: Path, samples: int) -> float:
    """Random access as a DataLoader worker does it: `dataset[i]` with my_policy's action chunk, one thread."""
    from lerobot.datasets import LeRobotDataset

    config = make_config("my_policy", shape)
    delta = {ACTION: [i / shape.fps for i in config.action_delta_indices]}
    dataset = LeRobotDataset(f"local/{root.name}", root=root, delta_timestamps=delta)
    order = np.random.default_rng(0).integers(0, len(dataset), samples + 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dataset[int(order[0])]  # warm-up: opens the video files
        start = time.perf_counter()
        for i in order[1:]:
            dataset[int(i)]
        return round((time.perf_counter() - start) / samples * 1e3, 2)
    finally:
        torch.set_num_threads(threads)


# The LIBERO recipe (the Makefile's LIBERO_POLICY): what the long runs train.
LIBERO_RECIPE = ["--policy.backbone_stages=3", "--policy.resize_shape=[96,96]"]


@dataclass(frozen=True)
class TrainRun:
    """One short `lerobot-train` run to time: the policy options, how many data-parallel processes, and the words
    the MDX uses for it."""

    name: str
    description: str
    options: tuple[str, ...] = ()
    nproc: int = 1


TRAIN_RUNS = (
    TrainRun("defaults", "with its defaults"),
    TrainRun("libero_recipe", "with the LIBERO recipe", tuple(LIBERO_RECIPE)),
    TrainRun(
        "libero_recipe_torchrun",
        "with the LIBERO recipe under `torchrun` (2 data-parallel processes)",
        tuple(LIBERO_RECIPE),
        nproc=2,
    ),
)


def lerobot_train_samples_per_s(run: TrainRun, root: Path, work: Path, batch_size: int, steps: int) -> dict:
    """`lerobot-train --policy.type=my_policy` on the dataset at `root` under `run`'s launcher: samples/s (the
    effective batch over processes) from the main process's own log, the mean update and data-loading times it
    reports for the last `log_freq` steps."""
    log = work / run.name / "train.log"
    command = machine.lerobot_train_command(
        "my_policy",
        root,
        work / run.name / "train",
        batch_size // run.nproc,
        seed=1000,
        num_workers=2,
        extra=[
            *run.options,
            f"--steps={steps}",
            f"--log_freq={steps // 2}",
            f"--save_freq={steps}",
            "--save_checkpoint=false",
        ],
    )
    wall = machine.run_logged([*machine.train_launcher(run.nproc), *command], log)
    last = [line for line in log.read_text().splitlines() if "updt_s:" in line][-1]
    update_s = float(re.search(r"updt_s:([\d.]+)", last).group(1))
    data_s = float(re.search(r"data_s:([\d.]+)", last).group(1))
    return {
        "samples_per_s": round(batch_size / (update_s + data_s), 2),
        "update_s_per_step": update_s,
        "data_s_per_step": data_s,
        "policy_options": list(run.options),
        "processes": run.nproc,
        "batch_size": batch_size,
        "steps": steps,
        "num_workers_per_process": 2,
        "wall_s": round(wall, 1),
        "log_line": last[last.index("step:") :].strip(),
    }


def run(settings: Settings) -> dict:
    results: dict = {
        **machine.provenance(),
        "upstream_version": lerobot.__version__,
        "allocator": machine.allocator(),
        "threads": torch.get_num_threads(),
        "seed": 0,  # torch.manual_seed before each policy; the random batch and the datasets are seeded too
        "batch_size": settings.batch_size,
        "steps": settings.steps,
        "my_policy_before": {
            "commit": "b6c2e84",
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in MY_POLICY_BEFORE.items()},
        },
        "shapes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in settings.shapes:
            shape = SHAPES[name]
            entry: dict = {"ms_per_sample": {}, "details": {}}
            for policy in settings.policies:
                measured = measure_policy(policy, shape, settings)
                entry["ms_per_sample"][policy] = measured.pop("ms_per_sample")
                entry["details"][policy] = measured
            costs = entry["ms_per_sample"]
            entry["ratios"] = {
                f"{other}_over_my_policy": round(costs[other] / costs["my_policy"], 2)
                for other in costs
                if other != "my_policy" and "my_policy" in costs
            }
            root = Path(tmp) / f"{name}_data"
            start = time.perf_counter()
            write_dataset(shape, root)
            entry["dataset"] = {
                "episodes": 4,
                "frames": 400,
                "write_s": round(time.perf_counter() - start, 1),
            }
            entry["data_ms_per_sample"] = data_ms_per_sample(shape, root, settings.data_samples)
            if name == "libero" and settings.train_run_steps:
                entry["lerobot_train"] = {
                    run.name: lerobot_train_samples_per_s(
                        run, root, Path(tmp) / name, settings.batch_size, settings.train_run_steps
                    )
                    for run in TRAIN_RUNS
                }
            shutil.rmtree(root)
            results["shapes"][name] = entry
            print(f"{name}: {json.dumps({k: v for k, v in entry.items() if k != 'details'})}", flush=True)
    return results


MDX = machine.REPO / "docs" / "source" / "my_policy.mdx"
MDX_START, MDX_END = "<!-- train-cost:start -->", "<!-- train-cost:end -->"


def mdx_section(results: dict) -> str:
    """The MDX's training-cost table, from a results file."""
    measured = next(iter(results["shapes"].values()))["ms_per_sample"]
    policies = [p for p in POLICIES if p in measured]
    rows = [
        "| shape | " + " | ".join(policies) + " | my_policy's dataset, per sample |",
        "|---|" + "---:|" * (len(policies) + 1),
    ]
    for name, entry in results["shapes"].items():
        costs = entry["ms_per_sample"]
        cells = [
            f"{costs[p]:.1f} ms" + (f" ({costs[p] / costs['my_policy']:.1f}×)" if p != "my_policy" else "")
            for p in policies
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {entry['data_ms_per_sample']:.1f} ms |")
    libero = results["shapes"]["libero"]
    parts = libero["details"]["my_policy"]["breakdown_ms_per_sample"]
    run = libero.get("lerobot_train")
    text = (
        "\n".join(rows)
        + "\n\nMilliseconds per training sample: forward + backward + gradient clipping + the preset optimizer "
        f"step + EMA, batch {results['batch_size']}, median of {results['steps']} steps, one process on "
        f"{results['threads']} threads; `my_policy_before` is today's code with the configuration defaults of "
        f"commit {results['my_policy_before']['commit']}, in the same run (equal to today's defaults: no default "
        "has changed since; the code's own savings, each distinct task sentence encoded once over its real "
        "length and one backbone pass for all cameras, apply to both); `my_policy_96px` resizes the cameras to "
        "96×96 and `my_policy_96px_3stages` also keeps three of ResNet-18's four stages, the LIBERO checks' "
        "recipe (levers, not defaults). ACT and Diffusion with upstream defaults "
        "(no pretrained backbone). The dataset column is one random `dataset[i]` (camera frames decoded from "
        "video and the action chunk), one thread. my_policy's sample on the LIBERO shape splits into "
        f"{parts['vision']:.1f} ms for the two camera passes, {parts['language']:.1f} ms for the task sentences, "
        f"{parts['decoder_and_targets']:.1f} ms for the decoder and the flow/shortcut targets and "
        f"{parts['optimizer'] + parts['ema']:.1f} ms for the optimizer step and the EMA."
    )
    if run and "samples_per_s" in run:  # results written before the launchers were compared
        run = {"defaults": {**run, "processes": 1}}
    if run:
        measured = [
            f"{run[each.name]['samples_per_s']:.1f} samples/s {each.description}"
            for each in TRAIN_RUNS
            if each.name in run
        ]
        text += (
            f" Through `lerobot-train` (effective batch {results['batch_size']}, 2 data-loader workers per "
            f"process on the same cores) it trains at {', '.join(measured)}."
        )
    return (
        text + f"\n\n`make bench-train-cost` (`benchmarks/results/train_cost.json`; {results['hardware']}, "
        f"{results['allocator']}, commit {results['git_commit'][:10]})."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train_cost.json"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per policy and shape")
    parser.add_argument("--policies", default=",".join(Settings(out=Path()).policies))
    parser.add_argument("--shapes", default="libero,metaworld")
    parser.add_argument("--data-samples", type=int, default=64)
    parser.add_argument("--train-run-steps", type=int, default=60, help="0 skips the lerobot-train run")
    parser.add_argument(
        "--mdx", type=Path, default=MDX, help="the page whose training-cost table is rewritten"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the table from --out, measure nothing"
    )
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(args.out.read_text())
        args.mdx.write_text(
            machine.replace_section(args.mdx.read_text(), MDX_START, MDX_END, mdx_section(results))
        )
        print(mdx_section(results))
        return
    settings = Settings(
        out=args.out,
        batch_size=args.batch_size,
        steps=args.steps,
        policies=args.policies.split(","),
        shapes=args.shapes.split(","),
        data_samples=args.data_samples,
        train_run_steps=args.train_run_steps,
    )
    results = run(settings)
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    settings.out.write_text(json.dumps(results, indent=2) + "\n")
    args.mdx.write_text(
        machine.replace_section(args.mdx.read_text(), MDX_START, MDX_END, mdx_section(results))
    )
    print(f"wrote {settings.out} and the table in {args.mdx}")


if __name__ == "__main__":
    machine.rerun_with_jemalloc()
    main()
