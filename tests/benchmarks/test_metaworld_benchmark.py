"""The Meta-World benchmark's result writers: per-task success from lerobot-eval's output, table and chart."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.metaworld import report_metaworld, run_metaworld
from benchmarks.metaworld.grid import Grid

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
            "mean_success_ci95": [0.75 * rate - 0.1, 0.75 * rate + 0.1],
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
        "complete": True,
        "missing_cells": [],
    }


def test_table_lists_every_task_and_policy_and_the_chart_is_written(tmp_path):
    table = report_metaworld.table(results())
    assert table.splitlines()[0] == "| task | my_policy | act | diffusion |"
    assert "| reach-v3 | 80% | 40% | 20% |" in table and "| push-v3 | 40% | 20% | 10% |" in table
    assert (
        "| **mean** (95% interval) | **60.0%** (50–70%) | **30.0%** (20–40%) | **15.0%** (5–25%) |" in table
    )
    report_metaworld.chart(results(), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def bench_args(tmp_path, **overrides) -> Grid:
    values = {
        "tasks": TASKS,
        "policies": ["my_policy", "act", "diffusion", "my_policy_multitask"],
        "data": tmp_path / "data",
        "out": tmp_path / "out",
        "cells": tmp_path / "cells",
        "demos_per_task": 5,
        "demo_seed": 100_000,
        "steps": 100,
        "batch_size": 8,
        "seed": 1000,
        "eval_episodes": 20,
        "eval_seed": 1000,
        "eval_episodes_per_run": 5,
        "my_policy_options": [],
    }
    return Grid(**values | overrides)


def test_every_policy_trains_on_every_task_and_the_multitask_run_on_all(tmp_path):
    runs = run_metaworld.runs(bench_args(tmp_path))
    assert {(name, task) for name, _, _, task in runs} == {
        *((name, task) for name in ("my_policy", "act", "diffusion") for task in TASKS),
        ("my_policy_multitask", "all"),
    }
    assert all(
        "--policy.pretrained_backbone_weights=null" in extra
        for name, _, extra, _ in runs
        if name in ("act", "diffusion")
    )
    only_act = run_metaworld.runs(bench_args(tmp_path, policies=["act"], tasks=["push-v3"]))
    assert [(name, task) for name, _, _, task in only_act] == [("act", "push-v3")]


def test_the_demos_stage_generates_each_tasks_demonstrations_once(tmp_path, monkeypatch):
    generated = []

    def fake_generator(command, log):
        options = dict(arg.removeprefix("--").split("=", 1) for arg in command if arg.startswith("--"))
        generated.append((options["tasks"], options["seed"], options["demos-per-task"]))
        (Path(options["root"]) / "meta").mkdir(parents=True, exist_ok=True)
        info = {"features": {"observation.state": {}, "observation.environment_state": {}}}
        (Path(options["root"]) / "meta" / "info.json").write_text(json.dumps(info))

    monkeypatch.setattr(run_metaworld.machine, "run_logged", fake_generator)
    args = bench_args(tmp_path)
    # One task's demonstrations were recorded before they carried the environment state: recorded again.
    old = args.dataset_root(TASKS[0]) / "meta" / "info.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"features": {"observation.state": {}}}))
    run_metaworld.demos(args)
    run_metaworld.demos(args)
    assert generated == [(task, "100000", "5") for task in TASKS]
    assert all((args.dataset_root(task) / "meta" / "info.json").exists() for task in TASKS)


def test_an_ablation_changes_only_my_policy_and_is_told_apart_from_the_benchmark_cells(tmp_path):
    options = ["--policy.resize_shape=[224,224]"]
    ablation = bench_args(tmp_path, my_policy_options=options)
    extras = {(name, task): extra for name, _, extra, task in run_metaworld.runs(ablation)}
    assert extras["my_policy", "push-v3"] == extras["my_policy_multitask", "all"] == options
    assert options[0] not in extras["act", "push-v3"] + extras["diffusion", "push-v3"]
    write_cell(ablation, "my_policy", "push-v3", {"push-v3": 0.5})
    assert ablation.cell_done("my_policy", "push-v3")
    assert not bench_args(tmp_path).cell_done("my_policy", "push-v3")


def test_the_ablation_table_sets_each_ablation_beside_the_benchmark_cell_it_changes(tmp_path):
    args = bench_args(tmp_path)
    write_cell(args, "my_policy", "push-v3", {"push-v3": 0.05})
    options = ["--policy.crop_ratio=1.0"]
    ablation = bench_args(tmp_path, my_policy_options=options, cells=tmp_path / "ablations" / "no_crop")
    write_cell(ablation, "my_policy", "push-v3", {"push-v3": 0.25})
    write_cell(
        bench_args(tmp_path, my_policy_options=options, cells=tmp_path / "ablations" / "x"),
        "my_policy",
        "reach-v3",
        {"reach-v3": 0.5},
        dirty="-dirty",
    )
    table = report_metaworld.ablation_table(args, tmp_path / "ablations")
    commit = b"my_policy".hex()
    assert f"| push-v3 | my_policy | `--policy.crop_ratio=1.0` | 5% | 25% | 2 min | {commit} |" in table
    assert (
        f"| reach-v3 | my_policy | `--policy.crop_ratio=1.0` | not run | 50% | 2 min | {commit}-dirty |"
        in table
    )

    write_cell(ablation, "my_policy", "push-v3", {"push-v3": 0.25}, train_steps=50)  # another budget
    with pytest.raises(SystemExit, match="no_crop/my_policy__push-v3.json: made with other settings"):
        report_metaworld.ablation_table(args, tmp_path / "ablations")


def write_cell(
    args,
    name: str,
    task: str,
    rates: dict[str, float],
    dirty: str = "",
    train_wall_s: float = 100.0,
    **settings,
) -> None:
    cell = {
        "name": name,
        "task": task,
        "settings": args.settings(task, name) | settings,
        "success_rate": rates,
        "params": 10,
        "num_inference_steps": 4,
        "train_wall_s": train_wall_s,
        "eval_wall_s": 50.0,
        "expert_success_rate": dict.fromkeys(rates, 1.0),
        "hardware": "2 CPU cores",
        "git_commit": name.encode().hex() + dirty,  # a fake id, one per policy
    }
    args.cells.mkdir(parents=True, exist_ok=True)
    args.cell_path(name, task).write_text(json.dumps(cell))


def test_the_report_is_built_from_cells_committed_by_separate_runs(tmp_path):
    """Cells are computed in pieces (other sessions, machines); the report needs every one of them, made with the
    benchmark's current settings."""
    args = bench_args(tmp_path)
    for name, rate in [("my_policy", 0.8), ("my_policy_1step", 0.7), ("act", 0.4), ("diffusion", 0.2)]:
        for task in TASKS:
            write_cell(args, name, task, {task: rate})
    assert args.cell_done("act", "push-v3")
    assert not bench_args(tmp_path, steps=200).cell_done("act", "push-v3")
    with pytest.raises(SystemExit, match="--policies my_policy_multitask --tasks reach-v3,push-v3"):
        report_metaworld.collect(args)

    write_cell(args, "my_policy_multitask", "all", {"reach-v3": 1.0, "push-v3": 0.5})
    results = report_metaworld.collect(args)
    assert results["policies"]["act"]["success_rate"] == {"reach-v3": 0.4, "push-v3": 0.4}
    assert results["policies"]["my_policy_multitask"]["mean_success_rate"] == 0.75
    # Wilson score intervals (as scipy's `binomtest(k, n).proportion_ci(method="wilson")`) of the pooled episodes:
    assert results["policies"]["my_policy_multitask"]["mean_success_ci95"] == [0.5981, 0.8581]  # 30 of 40
    assert results["policies"]["act"]["mean_success_ci95"] == [0.2635, 0.554]  # 16 of 40
    assert results["policies"]["diffusion"]["train_wall_s"] == 200.0  # two tasks' cells
    assert results["total_wall_s"] == 5 * 2 * 150.0 - 150.0  # the multi-task run is one cell
    assert results["hardware"] == "2 CPU cores" and len(results["cell_commits"]) == 5

    write_cell(args, "act", "push-v3", {"push-v3": 0.9}, train_steps=50)  # made with other settings
    with pytest.raises(SystemExit, match="act on push-v3"):
        report_metaworld.collect(args)


def test_a_partial_report_shows_the_cells_measured_so_far_and_names_the_rest(tmp_path):
    args = bench_args(tmp_path)
    with pytest.raises(SystemExit, match="no Meta-World cells"):
        report_metaworld.collect(args, partial=True)
    write_cell(args, "my_policy", "reach-v3", {"reach-v3": 0.35})
    write_cell(args, "my_policy", "push-v3", {"push-v3": 0.25})
    write_cell(args, "act", "reach-v3", {"reach-v3": 0.5})

    results = report_metaworld.collect(args, partial=True)
    assert not results["complete"] and list(results["policies"]) == ["my_policy", "act"]
    missing = results["missing_cells"]
    assert "act on push-v3" in missing and "diffusion on reach-v3" in missing
    # 4 single-task names (one-step mode included) x 2 tasks, plus the multi-task run, less the 3 measured
    assert len(missing) == 2 * 4 + 1 - 3
    assert results["policies"]["my_policy"]["mean_success_rate"] == 0.3
    assert results["policies"]["act"] == results["policies"]["act"] | {
        "success_rate": {"reach-v3": 0.5},
        "mean_success_rate": None,  # no mean over the tasks it happens to have
    }
    table = report_metaworld.table(results)
    assert "| reach-v3 | 35% | 50% |" in table and "| push-v3 | 25% | not run |" in table
    assert "| **mean** (95% interval) | **30.0%** (18–45%) | **—** |" in table
    report_metaworld.chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluation_runs_split_the_episodes_with_the_same_starts_and_a_stopped_evaluation_keeps_finished_runs(
    tmp_path, monkeypatch
):
    """A multi-task checkpoint is evaluated task by task, each task in runs of `eval_episodes_per_run` episodes
    whose seeds continue where the previous run stopped (lerobot-eval seeds episode i from --seed + i), so every
    cell sees the same starts; the cell merges the runs."""
    import torch

    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies import factory

    args = bench_args(
        tmp_path, tasks=["reach-v3", "push-v3", "pick-place-v3"], eval_episodes=5, eval_episodes_per_run=2
    )
    # Episode i of a task succeeds when (task, seed of episode i) is listed: the merge must keep each run's order.
    succeeding = {("reach-v3", 1000), ("reach-v3", 1003), ("push-v3", 1004), ("pick-place-v3", 1001)}
    ran, stop_once = [], {("push-v3", 1002)}

    def run_unless_done(command, log, folder, settings, keep_freed_memory):
        """Like machine.run_unless_done, with lerobot-eval's output faked."""
        if (folder / "done.json").exists():
            return False
        option = dict(c.removeprefix("--").split("=", 1) for c in command[1:])
        task, seed, episodes = option["env.task"], int(option["seed"]), int(option["eval.n_episodes"])
        assert folder.parent.name == task and option["output_dir"] == str(folder)
        checkpoint = option["policy.path"]
        assert settings == {
            "episodes": episodes,
            "seed": seed,
            "checkpoint": checkpoint,
            "keeps_freed_memory": False,
        }
        assert not keep_freed_memory
        ran.append((task, seed, episodes))
        if (task, seed) in stop_once:
            stop_once.remove((task, seed))
            raise SystemExit("stopped")  # e.g. the session ended during this run
        successes = [(task, seed + i) in succeeding for i in range(episodes)]
        folder.mkdir(parents=True)
        (folder / "eval_info.json").write_text(json.dumps(eval_info({task: successes})))
        (folder / "done.json").write_text(json.dumps(settings | {"wall_s": 10.0}))
        return True

    train = args.trained_run("my_policy_multitask", "all") / "train"
    train.mkdir(parents=True)
    (train / "wall_s.json").write_text(json.dumps({"wall_s": 99.0}))
    args.data.mkdir(parents=True)
    for task in args.tasks:
        expert = {"tasks": {task: {"expert_success_rate": 1.0}}}
        args.expert_report(task).write_text(json.dumps(expert))
    monkeypatch.setattr(run_metaworld.machine, "run_unless_done", run_unless_done)
    monkeypatch.setattr(PreTrainedConfig, "from_pretrained", lambda path: SimpleNamespace(type="x"))
    policy = SimpleNamespace(from_pretrained=lambda path: torch.nn.Linear(2, 3))
    monkeypatch.setattr(factory, "get_policy_class", lambda kind: policy)

    with pytest.raises(SystemExit, match="stopped"):
        run_metaworld.evaluate(args, "my_policy_multitask", "all", [])
    assert not args.cell_path("my_policy_multitask", "all").exists()
    run_metaworld.evaluate(args, "my_policy_multitask", "all", [])
    runs = [(1000, 2), (1002, 2), (1004, 1)]
    assert (
        ran
        == [
            *(("reach-v3", seed, n) for seed, n in runs),
            *(("push-v3", seed, n) for seed, n in runs[:2]),  # stopped during its second run ...
            *(("push-v3", seed, n) for seed, n in runs[1:]),  # ... which is all that runs again
            *(("pick-place-v3", seed, n) for seed, n in runs),
        ]
    )
    cell = json.loads(args.cell_path("my_policy_multitask", "all").read_text())
    assert cell["success_rate"] == {"reach-v3": 0.4, "push-v3": 0.2, "pick-place-v3": 0.2}
    assert cell["eval_wall_s"] == 90.0 and cell["train_wall_s"] == 99.0 and cell["params"] == 9
    assert cell["eval_episodes_per_run"] == 2


def test_only_diffusions_evaluation_keeps_the_memory_it_frees_and_a_run_made_otherwise_is_redone(
    tmp_path, monkeypatch
):
    args = bench_args(tmp_path, tasks=["reach-v3"], eval_episodes=2, eval_episodes_per_run=2)
    kept = []

    def run_logged(command, log, keep_freed_memory=False):
        kept.append((Path(command[1].removeprefix("--policy.path=")).parts[-6], keep_freed_memory))
        return 1.0

    monkeypatch.setattr(run_metaworld.machine, "run_logged", run_logged)
    for name in ["my_policy", "act", "diffusion"]:
        run_metaworld.lerobot_eval(args, name, "reach-v3", "reach-v3", [])
    assert kept == [("my_policy", False), ("act", False), ("diffusion", True)]
    (run,) = run_metaworld.lerobot_eval(args, "diffusion", "reach-v3", "reach-v3", [])
    assert len(kept) == 3  # done with these settings: not run again
    done = json.loads((run / "done.json").read_text())
    (run / "done.json").write_text(json.dumps({k: v for k, v in done.items() if k != "keeps_freed_memory"}))
    run_metaworld.lerobot_eval(args, "diffusion", "reach-v3", "reach-v3", [])
    assert kept[3:] == [("diffusion", True)]  # made before the setting was recorded: evaluated again


def test_an_ablation_must_not_write_into_the_benchmarks_own_folders(tmp_path):
    options = ["--policy.crop_ratio=1.0"]
    with pytest.raises(ValueError, match="own cells and out folders"):
        Grid(my_policy_options=options)
    with pytest.raises(ValueError, match="unknown policies"):
        Grid(policies=["my_policy", "pi0"])
    assert (
        Grid(my_policy_options=options, cells=tmp_path / "c", out=tmp_path / "o").my_policy_options == options
    )


def test_the_equal_time_cell_trains_my_policy_for_as_long_as_acts_cell_did(tmp_path, monkeypatch):
    """Opt-in: its runs come after the cells it takes its budget from, it trains as many steps as my_policy's cell
    makes in ACT's cell's training time, and it cannot start before both are committed."""
    args = bench_args(tmp_path, policies=["my_policy", "act", "my_policy_equal_time"], tasks=["push-v3"])
    assert "my_policy_equal_time" not in bench_args(tmp_path).policies  # not part of the default grid
    runs = run_metaworld.runs(args)
    assert [(name, task) for name, _, _, task in runs][-1] == ("my_policy_equal_time", "push-v3")
    assert args.train_steps("my_policy_equal_time", "push-v3") is None
    with pytest.raises(SystemExit, match="--policies act,my_policy --tasks push-v3"):
        run_metaworld.train(args, "my_policy_equal_time", "my_policy", [], "push-v3")

    write_cell(args, "act", "push-v3", {"push-v3": 0.1}, train_wall_s=5481.2)
    write_cell(args, "my_policy", "push-v3", {"push-v3": 0.05}, train_wall_s=552.9)
    assert args.train_steps("my_policy_equal_time", "push-v3") == 1000  # 100 steps x 9.91, to 100 steps
    assert args.train_steps("act", "push-v3") == args.train_steps("my_policy", "push-v3") == 100
    trained = []
    monkeypatch.setattr(run_metaworld, "task_demos", lambda grid, task: tmp_path / "demos")
    monkeypatch.setattr(
        run_metaworld.machine,
        "train_or_resume",
        lambda fresh, train_dir, steps, *_, **__: trained.append(steps),
    )
    run_metaworld.train(args, "my_policy_equal_time", "my_policy", [], "push-v3")
    assert trained == [1000]
    assert not args.cell_done("my_policy_equal_time", "push-v3")
    write_cell(args, "my_policy_equal_time", "push-v3", {"push-v3": 0.6}, train_wall_s=5400.0)
    assert args.cell_done("my_policy_equal_time", "push-v3")
    write_cell(args, "act", "push-v3", {"push-v3": 0.1}, train_wall_s=2700.0)  # ACT's cell measured again
    assert not args.cell_done("my_policy_equal_time", "push-v3")  # its budget changed: run again


def test_the_report_sets_the_equal_time_column_apart_beside_act_and_my_policy(tmp_path):
    args = bench_args(tmp_path)
    for name, rate in [("my_policy", 0.8), ("my_policy_1step", 0.7), ("act", 0.4), ("diffusion", 0.2)]:
        for task in TASKS:
            write_cell(args, name, task, {task: rate}, train_wall_s=1000.0 if name == "act" else 100.0)
    write_cell(args, "my_policy_multitask", "all", {"reach-v3": 1.0, "push-v3": 0.5})
    assert "equal_training_time" not in report_metaworld.collect(args)  # no cell of it: the report as before

    write_cell(args, "my_policy_equal_time", "push-v3", {"push-v3": 0.9}, train_wall_s=990.0)
    results = report_metaworld.collect(args)
    extra = results["equal_training_time"]
    assert extra["success_rate"] == {"push-v3": 0.9} and extra["mean_success_rate"] is None
    assert extra["train_steps"] == {"push-v3": 1000} and extra["act_train_wall_s"] == {"push-v3": 1000.0}
    assert extra["missing_tasks"] == ["reach-v3"] and results["complete"]  # optional: the grid is complete
    table = report_metaworld.equal_time_table(results)
    assert "| push-v3 | 40% | 80% | 90% | 1000 | 16 min (17 min) |" in table
    assert "| reach-v3 | 40% | 80% | not run | | |" in table

    write_cell(args, "my_policy_equal_time", "reach-v3", {"reach-v3": 0.5}, train_wall_s=1000.0)
    extra = report_metaworld.collect(args)["equal_training_time"]
    assert extra["mean_success_rate"] == 0.7 and extra["missing_tasks"] == []
