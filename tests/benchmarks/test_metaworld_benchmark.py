"""The Meta-World benchmark's result writers: per-task success from lerobot-eval's output, table and chart."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks/metaworld"))

import run_benchmark  # noqa: E402

TASKS = ["reach-v3", "push-v3"]


def eval_info(successes: dict[str, list[bool]]) -> dict:
    """What `lerobot-eval --env.task=a,b` writes: each listed task is its own group with task_id 0."""
    return {
        "per_task": [
            {"task_group": t, "task_id": 0, "metrics": {"successes": s}} for t, s in successes.items()
        ]
    }


def results() -> dict:
    policies = {
        name: {
            "success_rate": {"reach-v3": rate, "push-v3": rate / 2},
            "mean_success_rate": 0.75 * rate,
            "params": 1,
        }
        for name, rate in [("my_policy", 0.8), ("act", 0.4), ("diffusion", 0.2)]
    }
    return {
        "tasks": TASKS,
        "policies": policies,
        "demos_per_task": 20,
        "train_steps": 100,
        "batch_size": 8,
        "eval_episodes_per_task": 20,
        "hardware": "2 CPU cores",
    }


def test_success_rates_follow_the_task_groups_of_a_multitask_evaluation():
    info = eval_info({"reach-v3": [True, True, False, True], "push-v3": [False, True]})
    assert run_benchmark.success_rates(info) == {"reach-v3": 0.75, "push-v3": 0.5}


def test_table_lists_every_task_and_policy_and_the_chart_is_written(tmp_path):
    table = run_benchmark.table(results())
    assert table.splitlines()[0] == "| task | my_policy | act | diffusion |"
    assert "| reach-v3 | 80% | 40% | 20% |" in table and "| push-v3 | 40% | 20% | 10% |" in table
    assert "| **mean** | **60.0%** | **30.0%** | **15.0%** |" in table
    run_benchmark.chart(results(), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_policy_trains_on_every_task_and_the_multitask_run_on_all(tmp_path):
    args = run_benchmark.argparse.Namespace(tasks=TASKS, data=tmp_path, demos_per_task=5)
    runs = run_benchmark.runs(args)
    assert {(name, task) for name, _, _, _, task in runs} == {
        *((name, task) for name in ("my_policy", "act", "diffusion") for task in TASKS),
        ("my_policy_multitask", "all"),
    }
    datasets = {data.name for *_, data, _ in runs}
    assert datasets == {"reach-v3-5", "push-v3-5", "all-5"}
    assert all(
        "--policy.pretrained_backbone_weights=null" in extra
        for name, _, extra, *_ in runs
        if name in ("act", "diffusion")
    )
