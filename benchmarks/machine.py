"""Shared by the benchmarks: where and from what a result was made (`provenance`), LeRobot's CLIs as every
benchmark launches them (`lerobot_train_command`, `lerobot_eval_command`, `run_logged`, `train_or_resume`), and
the results files and documents they write (`write_json`, `replace_section`)."""

import argparse
import ctypes.util
import dataclasses
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import subprocess  # nosec B404
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from lerobot.configs import PreTrainedConfig

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def hardware() -> str:
    """CPU model, cores visible to this process, memory, and the absence of a GPU (all our numbers are CPU)."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {len(os.sched_getaffinity(0))} CPU cores, {memory:.0f} GiB, no GPU"


def git_commit(*paths: Path) -> str:
    """HEAD of this repository, with `-dirty` when tracked files (under `paths`, if given) have uncommitted
    changes."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)  # nosec
    status = [*git, "status", "--porcelain", "-uno", "--", *map(str, paths)]
    dirty = subprocess.run(status, capture_output=True, text=True, check=False)  # nosec
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance(*paths: Path) -> dict[str, str]:
    """What every results file says about where it was made: the hardware and the commit (`git_commit`)."""
    return {"hardware": hardware(), "git_commit": git_commit(*paths)}


def trainable_params(policy: "torch.nn.Module") -> int:
    """Parameters the optimizer trains: an EMA copy of the weights and frozen encoders are not counted."""
    return sum(p.numel() for p in policy.parameters() if p.requires_grad)


def policy_options(config: "PreTrainedConfig") -> dict:
    """The policy options a checkpoint was trained with that differ from its type's defaults (base-class fields
    such as features and device aside): what tells an ablation cell from the default one."""
    default = type(config)()
    own = type(config).__annotations__
    options = {name: getattr(config, name) for name in own if getattr(config, name) != getattr(default, name)}
    return json.loads(json.dumps(options, default=lambda value: dataclasses.asdict(value)))


def settings_from_args[T](
    settings: type[T], parser: argparse.ArgumentParser, args: argparse.Namespace, **fixed
) -> T:
    """The typed settings (a dataclass) that the parsed options name; one it refuses is a usage error."""
    names = {field.name for field in dataclasses.fields(settings)}  # type: ignore[arg-type]
    try:
        return settings(**{key: value for key, value in vars(args).items() if key in names}, **fixed)
    except ValueError as error:
        parser.error(str(error))


def parent_exited() -> bool:
    """In a pool's worker: whether the process that started it is gone (killed or stopped), so the worker stops
    too instead of finishing its jobs for nobody. Spawned workers are not killed with their parent."""
    parent = mp.parent_process()
    return parent is not None and not parent.is_alive()


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def aggregate_local_datasets(roots: Sequence[Path], merged: Path) -> None:
    """One local LeRobotDataset at `merged` with the episodes of the datasets at `roots`, in that order."""
    from lerobot.datasets.aggregate import aggregate_datasets

    aggregate_datasets(
        repo_ids=[
            f"local/{root.parent.name}_{root.name}" for root in roots
        ],  # unique: parts may share a name
        roots=list(roots),
        aggr_repo_id=f"local/{merged.name}",
        aggr_root=merged,
    )


def lerobot_train_command(
    policy_type: str,
    dataset: Path,
    output_dir: Path,
    batch_size: int,
    seed: int,
    num_workers: int,
    extra: Sequence[str] = (),
) -> list[str]:
    """`lerobot-train` on a local dataset as every benchmark runs it: on the CPU, nothing pushed or logged to the
    Hub or W&B; `extra` adds options (`--policy.*`, `--steps`, ...)."""
    return [
        str(BIN / "lerobot-train"),
        f"--policy.type={policy_type}",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        f"--dataset.repo_id=local/{dataset.name}",
        f"--dataset.root={dataset}",
        f"--batch_size={batch_size}",
        f"--seed={seed}",
        f"--num_workers={num_workers}",
        f"--output_dir={output_dir}",
        "--wandb.enable=false",
        *extra,
    ]


def train_launcher(nproc: int) -> list[str]:
    """What `lerobot-train` runs under: `torchrun` with `nproc` data-parallel processes (DDP over gloo, one
    thread each, as torchrun sets), or nothing for one process on all cores."""
    return [str(BIN / "torchrun"), f"--nproc_per_node={nproc}"] if nproc > 1 else []


def lerobot_eval_command(
    checkpoint: Path,
    env: Sequence[str],
    n_episodes: int,
    batch_size: int,
    seed: int,
    output_dir: Path,
    extra: Sequence[str] = (),
) -> list[str]:
    """`lerobot-eval` of a checkpoint; `env` are the `--env.*` options, `extra` any others."""
    return [
        str(BIN / "lerobot-eval"),
        f"--policy.path={checkpoint}",
        *env,
        f"--eval.n_episodes={n_episodes}",
        f"--eval.batch_size={batch_size}",
        f"--seed={seed}",
        f"--output_dir={output_dir}",
        *extra,
    ]


def jemalloc() -> str | None:
    """The jemalloc library `scripts/setup.sh` installs (its soname, for `LD_PRELOAD`), if this machine has it."""
    return ctypes.util.find_library("jemalloc")


def allocator() -> str:
    """The allocator `run_logged` gives LeRobot's CLIs; a cell records it next to its wall times."""
    return "jemalloc" if jemalloc() else "glibc"


def with_jemalloc(env: dict[str, str], keep_freed_memory: bool) -> dict[str, str]:
    """`env` with jemalloc preloaded when this machine has it; with `keep_freed_memory`, set never to give freed
    memory back.

    glibc's malloc (and jemalloc's default 10 s decay, shorter than a step) hand the large activation buffers of
    full-resolution ResNets back to the kernel after every step, and re-faulting them cost Diffusion's training
    step ~45 % of its time on 2 cores. Same results (identical losses), only faster; the Meta-World grid trains
    so. LIBERO's training does not: kept, the freed memory of its two data-parallel processes grew to ~10 GB each
    by step 1000 of a one-task check (two 256² video cameras) and the machine (24 GiB) thrashed at 3.5-78 s per
    step; with the default decay each stays at ~1.5 GB and steps in 1.15 s. Evaluations keep jemalloc's
    default decay unless told otherwise: a `lerobot-eval` of my_policy that never gave memory back grew by
    60-170 MB/s (the freed inference buffers are not reused between the episode's video frames) and was killed for
    memory (24 GiB) in its fourth reach-v3 episode; with the default decay it grows by ~2.5 MB/s, the video frames,
    and steps faster than with glibc's malloc (3.6 against 2.9 steps/s). Diffusion's evaluation is the exception
    (see `run_metaworld.EVAL_KEEPS_FREED_MEMORY`)."""
    library = jemalloc()
    if not library:
        print(
            "note: jemalloc not found (scripts/setup.sh installs libjemalloc2); runs are slower", flush=True
        )
        return dict(env)
    if library in env.get("LD_PRELOAD", ""):
        return dict(env)
    preloaded = dict(env, LD_PRELOAD=" ".join(filter(None, [env.get("LD_PRELOAD"), library])))
    if keep_freed_memory:
        preloaded.setdefault("MALLOC_CONF", "background_thread:true,dirty_decay_ms:-1,muzzy_decay_ms:-1")
    return preloaded


def rerun_with_jemalloc() -> None:
    """Restart this Python program with jemalloc preloaded (`with_jemalloc`), unless it already is, so an
    in-process benchmark measures every policy with the allocator the training and evaluation runs use."""
    env = with_jemalloc(dict(os.environ), keep_freed_memory=True)
    if env.get("LD_PRELOAD") != os.environ.get("LD_PRELOAD"):
        main = sys.modules["__main__"]
        # Started as `python -m benchmarks.<module>`: start it the same way (its file alone has no package).
        module = ["-m", main.__spec__.name] if getattr(main, "__spec__", None) else [sys.argv[0]]
        os.execve(sys.executable, [sys.executable, *module, *sys.argv[1:]], env)  # nosec B606


def headless(env: dict[str, str]) -> dict[str, str]:
    """`env` with MuJoCo rendering through OSMesa unless `MUJOCO_GL` names a backend, as the Makefile sets it:
    these benchmarks run on machines without a display, where MuJoCo's default (GLFW) fails in `gladLoadGL`."""
    if "MUJOCO_GL" in env:
        return dict(env)
    return dict(env, MUJOCO_GL="osmesa", PYOPENGL_PLATFORM="osmesa")


def run_logged(command: list[str], log: Path, keep_freed_memory: bool = False) -> float:
    """Run a LeRobot CLI with its output appended to `log` (under `with_jemalloc` and `headless`); fail loudly
    with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = headless(with_jemalloc(dict(os.environ), keep_freed_memory))
    print(f"$ {' '.join(command)}\n  (log: {log})", flush=True)
    start = time.perf_counter()
    with log.open("a") as f:
        f.write(f"\n$ {' '.join(command)}\n")
        f.flush()
        returncode = subprocess.run(  # nosec
            command,
            stdout=f,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
            cwd=REPO,  # for `python -m benchmarks...`
        ).returncode
    if returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f"{command[0]} failed (exit {returncode}); last lines of {log}:\n{tail}")
    return time.perf_counter() - start


def replace_section(text: str, start: str, end: str, section: str) -> str:
    """Put `section` between the `start` and `end` markers of a document (e.g. the policy MDX), so re-running a
    report replaces its table instead of adding another."""
    if text.count(start) != 1 or text.count(end) != 1:
        raise SystemExit(
            f"the document needs exactly one {start} ... {end} pair around the generated results"
        )
    pattern = re.escape(start) + ".*?" + re.escape(end)
    return re.sub(pattern, lambda _: f"{start}\n{section}\n{end}", text, flags=re.S)


def run_unless_done(
    command: list[str], log: Path, folder: Path, settings: dict, keep_freed_memory: bool = False
) -> bool:
    """Run a CLI that writes into `folder` (through `run_logged`), unless `folder/done.json` says it already ran
    with these `settings` (a run that was interrupted, or made with other settings, is started again from scratch).
    Records the wall time next to the settings; returns whether it ran."""
    marker = folder / "done.json"
    done = json.loads(marker.read_text()) if marker.exists() else {}
    if {key: done.get(key) for key in settings} == settings:
        return False
    shutil.rmtree(folder, ignore_errors=True)
    wall = run_logged(command, log, keep_freed_memory)
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(settings | {"wall_s": round(wall, 1)}))
    return True


def last_checkpoint(train_dir: Path) -> Path:
    """The `pretrained_model` folder of a `lerobot-train` output directory's latest checkpoint."""
    return train_dir / "checkpoints" / "last" / "pretrained_model"


def checkpoint_step(pretrained_model: Path) -> int:
    """The training step a `pretrained_model` folder was saved at (0 when it was not saved by `lerobot-train`)."""
    state = pretrained_model.parent / "training_state" / "training_step.json"
    return json.loads(state.read_text())["step"] if state.exists() else 0


def trained_steps(train_dir: Path) -> int:
    return checkpoint_step(last_checkpoint(train_dir))


def train_or_resume(
    fresh: list[str],
    train_dir: Path,
    steps: int,
    log: Path,
    options: list[str],
    launcher: Sequence[str] = (),
    keep_freed_memory: bool = False,
) -> None:
    """Run `fresh` (a `lerobot-train` command writing to `train_dir`), or `--resume` it from its last checkpoint;
    nothing when it has reached `steps`. `options` go to either, and either runs under `launcher` (e.g.
    `torchrun --nproc_per_node=2`) when one is given, with jemalloc keeping the memory it frees if asked
    (`with_jemalloc`). Training wall time accumulates in `train_dir/wall_s.json`; a run that was killed (e.g. at
    the end of a session) counts up to its last checkpoint."""
    running = train_dir.with_name(f"{train_dir.name}.running.json")
    done = trained_steps(train_dir)
    if running.exists():
        started = json.loads(running.read_text())["started"]
        if done:
            checkpointed = (
                last_checkpoint(train_dir).parent / "training_state" / "training_step.json"
            ).stat()
            _add_wall(train_dir, max(0.0, checkpointed.st_mtime - started))
        running.unlink()
    if done >= steps:
        return
    if done:
        config = last_checkpoint(train_dir) / "train_config.json"
        planned = json.loads(config.read_text())["steps"]
        if planned != steps:
            raise SystemExit(
                f"{train_dir} was started for {planned} steps and its learning-rate schedule is sized for them; "
                f"resume with {planned} steps, or train longer in a new output folder"
            )
        command = [fresh[0], f"--config_path={config}", "--resume=true"]
    else:
        shutil.rmtree(train_dir, ignore_errors=True)  # a run that never reached its first checkpoint
        command = fresh
    running.parent.mkdir(parents=True, exist_ok=True)
    running.write_text(json.dumps({"started": time.time()}))
    wall = run_logged([*launcher, *command, f"--steps={steps}", *options], log, keep_freed_memory)
    running.unlink()
    _add_wall(train_dir, wall)


def _add_wall(train_dir: Path, seconds: float) -> None:
    wall_path = train_dir / "wall_s.json"
    previous = json.loads(wall_path.read_text())["wall_s"] if wall_path.exists() else 0.0
    wall_path.write_text(json.dumps({"wall_s": round(previous + seconds, 1)}))
