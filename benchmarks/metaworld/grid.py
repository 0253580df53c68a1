"""The Meta-World grid (my_policy vs ACT vs Diffusion): its settings and where each cell's files live, shared by
the runner (`run_metaworld.py`) and the report (`report_metaworld.py`)."""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "benchmarks" / "results"

# Two easy, two medium, two hard tasks in LeRobot's Meta-World difficulty groups (envs/metaworld_config.json).
TASKS = ["reach-v3", "drawer-open-v3", "sweep-into-v3", "coffee-push-v3", "push-v3", "pick-place-v3"]
POLICIES = {  # name -> (policy type, extra lerobot-train options)
    "my_policy": ("my_policy", []),
    "act": ("act", ["--policy.pretrained_backbone_weights=null"]),
    "diffusion": ("diffusion", ["--policy.pretrained_backbone_weights=null"]),
}
MULTITASK = "my_policy_multitask"
ONE_STEP = "my_policy_1step"
# my_policy trained for as long as ACT's cell on the same task trained (opt-in: `--policies my_policy_equal_time`):
# a CPU user's budget is time, and my_policy's step is ~10x cheaper than ACT's.
EQUAL_TIME = "my_policy_equal_time"
OUT = REPO / "outputs" / "bench_metaworld"
CELLS = RESULTS_DIR / "metaworld"
ABLATIONS = RESULTS_DIR / "metaworld_ablations"


@dataclass(frozen=True)
class Grid:
    """What a run of the grid does and where it writes; a cell's numbers depend on `settings(task)` only."""

    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    policies: list[str] = field(default_factory=lambda: [*POLICIES, MULTITASK])
    demos_per_task: int = 20
    demo_seed: int = 100_000
    steps: int = 1000
    batch_size: int = 8
    seed: int = 1000
    num_workers: int = 2
    save_freq: int = 500
    eval_episodes: int = 20
    eval_seed: int = 1000
    # Episodes per lerobot-eval run: the same starts however split; a stopped evaluation keeps finished runs.
    eval_episodes_per_run: int = 5
    data: Path = REPO / "data" / "metaworld" / "bench"
    out: Path = OUT
    cells: Path = CELLS
    # An ablation: extra lerobot-train options for my_policy, with its own `cells` and `out` folders.
    my_policy_options: list[str] = field(default_factory=list)

    def __post_init__(self):
        if unknown := set(self.policies) - {*POLICIES, MULTITASK, EQUAL_TIME}:
            raise ValueError(
                f"unknown policies {sorted(unknown)}; choose from {[*POLICIES, MULTITASK, EQUAL_TIME]}"
            )
        if self.eval_episodes_per_run < 1:
            raise ValueError(f"eval_episodes_per_run must be at least 1, got {self.eval_episodes_per_run}")
        if self.my_policy_options and (self.cells.resolve() == CELLS or self.out.resolve() == OUT):
            raise ValueError("my_policy_options make an ablation: give it its own cells and out folders")

    def dataset_root(self, task: str) -> Path:
        return self.data / f"{task}-{self.demos_per_task}"

    def expert_report(self, task: str) -> Path:
        """The expert's numbers, next to the demonstrations they come with (ablations share both)."""
        return self.data / f"{task}-{self.demos_per_task}.expert.json"

    def run_dir(self, name: str, task: str) -> Path:
        return self.out / name / task

    def trained_run(self, name: str, task: str) -> Path:
        """The run whose checkpoint a cell evaluates: the one-step cell evaluates my_policy's."""
        return self.run_dir(name.replace(ONE_STEP, "my_policy"), task)

    def train_steps(self, name: str, task: str) -> int | None:
        """The steps cell `name` trains on `task`: the grid's, or for the equal-time cell as many as my_policy's
        cell made in the time ACT's cell trained (from the two committed cells' wall times, to 100 steps); None
        while either of them is missing."""
        if name != EQUAL_TIME:
            return self.steps
        if not (self.cell_done("act", task) and self.cell_done("my_policy", task)):
            return None
        act, mine = (
            json.loads(self.cell_path(n, task).read_text())["train_wall_s"] for n in ("act", "my_policy")
        )
        return int(round(self.steps * act / mine, -2))

    def settings(self, task: str, name: str = "my_policy") -> dict:
        """What cell `name`'s numbers depend on; a committed cell with other settings is run again."""
        return {
            "demos_per_task": self.demos_per_task,
            "demo_seed": self.demo_seed,
            "demo_camera": "video",  # cells measured on the earlier PNG datasets (same episodes) are run again
            "train_steps": self.train_steps(name, task),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "eval_episodes_per_task": self.eval_episodes,
            "eval_seed": self.eval_seed,
            "tasks": self.tasks if task == "all" else [task],
            # Only ablations have any, so the benchmark's own cells keep their settings.
            **({"my_policy_options": self.my_policy_options} if self.my_policy_options else {}),
        }

    def cell_path(self, name: str, task: str) -> Path:
        return self.cells / f"{name}__{task}.json"

    def cell_done(self, name: str, task: str) -> bool:
        path = self.cell_path(name, task)
        return path.exists() and json.loads(path.read_text())["settings"] == self.settings(task, name)


def add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Grid()
    parser.add_argument("--tasks", default=defaults.tasks, type=lambda s: s.split(","))
    parser.add_argument(
        "--policies",
        default=defaults.policies,
        type=lambda s: s.split(","),
        help=f"cells to run (my_policy includes its one-step evaluation); default: all of {defaults.policies}",
    )
    for name in ("demos_per_task", "demo_seed", "steps", "batch_size", "seed", "num_workers", "save_freq"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    parser.add_argument("--eval-episodes", type=int, default=defaults.eval_episodes)
    parser.add_argument("--eval-seed", type=int, default=defaults.eval_seed)
    parser.add_argument(
        "--eval-episodes-per-run",
        type=int,
        default=defaults.eval_episodes_per_run,
        help="episodes per lerobot-eval run (same starts however split; a stopped evaluation keeps finished runs)",
    )
    parser.add_argument("--data", type=Path, default=defaults.data)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument(
        "--cells", type=Path, default=defaults.cells, help="where each cell's numbers are committed"
    )
    parser.add_argument(
        "--my-policy-options",
        default=[],
        type=shlex.split,
        help="ablation: extra lerobot-train options for my_policy (needs its own --cells and --out)",
    )
