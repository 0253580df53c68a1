"""Helpers shared by the benchmark runners: resumable CLI runs and generated document sections."""

import json
import os
import subprocess  # nosec B404
import sys
import time
from pathlib import Path

import pytest

from benchmarks import machine


def write_into(folder: Path) -> list[str]:
    """A CLI that appends a line to `folder/out.txt`, like lerobot-eval writing into its output_dir."""
    code = "import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.mkdir(parents=True, exist_ok=True); "
    code += "(p / 'out.txt').open('a').write('ran\\n'); print('done')"
    return [sys.executable, "-c", code, str(folder)]


def test_a_run_with_the_same_settings_is_skipped_and_other_settings_start_afresh(tmp_path):
    folder, log = tmp_path / "eval", tmp_path / "eval.log"
    assert machine.run_unless_done(write_into(folder), log, folder, {"seed": 1})
    assert not machine.run_unless_done(write_into(folder), log, folder, {"seed": 1})
    assert (folder / "out.txt").read_text() == "ran\n"
    assert json.loads((folder / "done.json").read_text())["seed"] == 1
    assert machine.run_unless_done(write_into(folder), log, folder, {"seed": 2})
    assert (folder / "out.txt").read_text() == "ran\n"  # the earlier output was cleared, not appended to
    assert log.read_text().splitlines().count("done") == 2


def test_a_failing_run_raises_with_the_end_of_its_log_and_is_not_marked_done(tmp_path):
    folder = tmp_path / "eval"
    failing = [sys.executable, "-c", "import sys; print('bad option --eval.n_episodes'); sys.exit(3)"]
    with pytest.raises(SystemExit, match=r"(?s)exit 3.*bad option --eval.n_episodes"):
        machine.run_unless_done(failing, tmp_path / "eval.log", folder, {"seed": 1})
    assert not (folder / "done.json").exists()


def test_a_cli_runs_with_jemalloc_preloaded_when_the_machine_has_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.delenv("MALLOC_CONF", raising=False)
    log = tmp_path / "run.log"
    code = (
        "import os; print('preload=' + os.environ.get('LD_PRELOAD', ''), os.environ.get('MALLOC_CONF', ''))"
    )
    show = [sys.executable, "-c", code]
    monkeypatch.setattr(machine, "jemalloc", lambda: None)
    machine.run_logged(show, log)
    assert machine.allocator() == "glibc"
    library = str(tmp_path / "libjemalloc.so.2")  # not a real library: the loader skips it with a warning
    monkeypatch.setattr(machine, "jemalloc", lambda: library)
    machine.run_logged(show, log)  # an evaluation: jemalloc's default decay
    machine.run_logged(show, log, keep_freed_memory=True)  # a Meta-World grid training run
    assert machine.allocator() == "jemalloc"
    assert [line for line in log.read_text().splitlines() if line.startswith("preload=")] == [
        "preload= ",
        f"preload={library} ",
        f"preload={library} background_thread:true,dirty_decay_ms:-1,muzzy_decay_ms:-1",
    ]


def test_a_cli_renders_off_screen_unless_the_environment_names_a_backend(tmp_path, monkeypatch):
    log = tmp_path / "run.log"
    code = "import os; print('gl=' + os.environ['MUJOCO_GL'], os.environ.get('PYOPENGL_PLATFORM'))"
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    machine.run_logged([sys.executable, "-c", code], log)
    monkeypatch.setenv("MUJOCO_GL", "egl")
    machine.run_logged([sys.executable, "-c", code], log)
    assert [line for line in log.read_text().splitlines() if line.startswith("gl=")] == [
        "gl=osmesa osmesa",
        "gl=egl None",
    ]


def test_an_in_process_benchmark_restarts_itself_once_with_jemalloc(tmp_path, monkeypatch):
    restarts = []
    monkeypatch.setattr(machine.os, "execve", lambda path, argv, env: restarts.append(env["LD_PRELOAD"]))
    monkeypatch.setattr(machine, "jemalloc", lambda: "libjemalloc.so.2")
    monkeypatch.setenv("LD_PRELOAD", "libother.so")
    machine.rerun_with_jemalloc()
    assert restarts == ["libother.so libjemalloc.so.2"]
    monkeypatch.setenv("LD_PRELOAD", "libother.so libjemalloc.so.2")  # the restarted program
    machine.rerun_with_jemalloc()
    monkeypatch.setattr(machine, "jemalloc", lambda: None)  # a machine without it runs as it is
    monkeypatch.delenv("LD_PRELOAD")
    machine.rerun_with_jemalloc()
    assert len(restarts) == 1


def test_a_generated_section_replaces_the_previous_one():
    text = "intro\n<!-- a -->\nold\n<!-- b -->\noutro\n"
    new = machine.replace_section(text, "<!-- a -->", "<!-- b -->", "new")
    assert new == "intro\n<!-- a -->\nnew\n<!-- b -->\noutro\n"
    assert machine.replace_section(new, "<!-- a -->", "<!-- b -->", "new") == new
    with pytest.raises(SystemExit, match="exactly one"):
        machine.replace_section(text + "<!-- a -->", "<!-- a -->", "<!-- b -->", "new")


FAKE_TRAIN = """
import json, pathlib, sys
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
if args.get("resume") == "true":
    out = pathlib.Path(args["config_path"]).parents[3]
    start = json.loads((out / "checkpoints/last/training_state/training_step.json").read_text())["step"]
else:
    out, start = pathlib.Path(args["output_dir"]), 0
stop = min(int(args["steps"]), start + int(args["max_per_run"]))  # an interrupted run stops early
last = out / "checkpoints/last"
(last / "training_state").mkdir(parents=True, exist_ok=True)
(last / "pretrained_model").mkdir(exist_ok=True)
(last / "training_state/training_step.json").write_text(json.dumps({"step": stop}))
(last / "pretrained_model/train_config.json").write_text(json.dumps({"steps": int(args["steps"])}))
print("resumed" if start else "fresh", start, stop)
"""


def test_training_starts_resumes_and_stops_at_the_planned_steps(tmp_path, monkeypatch):
    kept_freed_memory = []  # whether a run keeps freed memory for its next step (`machine.with_jemalloc`)
    monkeypatch.setattr(machine, "with_jemalloc", lambda env, keep: kept_freed_memory.append(keep) or env)
    script = tmp_path / "lerobot-train"  # an executable, like the real CLI: resuming reuses only its path
    script.write_text(f"#!{sys.executable}\n{FAKE_TRAIN}")
    script.chmod(0o755)
    train_dir, log = tmp_path / "train", tmp_path / "train.log"
    fresh = [str(script), f"--output_dir={train_dir}"]
    resume_with = [f"--max_per_run={60}"]  # a "session" ends after 60 steps

    machine.train_or_resume(fresh, train_dir, 100, log, resume_with, keep_freed_memory=True)  # Meta-World's
    assert machine.trained_steps(train_dir) == 60
    # The resume goes through the checkpoint's train_config.json, as `lerobot-train --resume` wants.
    machine.train_or_resume(fresh, train_dir, 100, log, resume_with)
    assert machine.trained_steps(train_dir) == 100
    assert [line for line in log.read_text().splitlines() if line.startswith(("fresh ", "resumed "))] == [
        "fresh 0 60",
        "resumed 60 100",
    ]
    machine.train_or_resume(fresh, train_dir, 100, log, resume_with)  # done: nothing runs
    assert log.read_text().count("resumed") == 1
    assert kept_freed_memory == [
        True,
        False,
    ]  # as asked; by default (LIBERO's training) freed memory is returned
    assert isinstance(json.loads((train_dir / "wall_s.json").read_text())["wall_s"], float)
    with pytest.raises(SystemExit, match="started for 100 steps"):
        machine.train_or_resume(fresh, train_dir, 200, log, resume_with)


def test_a_killed_training_run_counts_its_wall_time_up_to_its_last_checkpoint(tmp_path):
    script = tmp_path / "lerobot-train"
    script.write_text(f"#!{sys.executable}\n{FAKE_TRAIN}")
    script.chmod(0o755)
    run = tmp_path / "not_made_yet"  # like a benchmark cell's folder before its first run
    train_dir, log, running = run / "train", run / "train.log", run / "train.running.json"
    machine.train_or_resume(
        [str(script), f"--output_dir={train_dir}"], train_dir, 100, log, ["--max_per_run=100"]
    )
    wall = json.loads((train_dir / "wall_s.json").read_text())["wall_s"]
    assert not running.exists()

    # A run started at t, wrote its last checkpoint at t + 30 s and was killed before it could count its time.
    checkpointed = (train_dir / "checkpoints/last/training_state/training_step.json").stat().st_mtime
    running.write_text(json.dumps({"started": checkpointed - 30}))
    machine.train_or_resume(
        [str(script), f"--output_dir={train_dir}"], train_dir, 100, log, ["--max_per_run=100"]
    )
    assert json.loads((train_dir / "wall_s.json").read_text())["wall_s"] == pytest.approx(wall + 30, abs=0.1)
    assert not running.exists() and log.read_text().count("fresh 0 100") == 1  # nothing ran again


def test_fresh_and_resumed_training_run_under_the_launcher(tmp_path):
    script = tmp_path / "lerobot-train"
    script.write_text(f"#!{sys.executable}\n{FAKE_TRAIN}")
    script.chmod(0o755)
    launcher = tmp_path / "torchrun"  # stands in for `torchrun --nproc_per_node=2`
    launcher.write_text('#!/bin/sh\necho "launched $1"\nexec "$@"\n')
    launcher.chmod(0o755)
    train_dir, log = tmp_path / "train", tmp_path / "train.log"
    fresh = [str(script), f"--output_dir={train_dir}"]

    for _ in range(2):
        machine.train_or_resume(fresh, train_dir, 100, log, ["--max_per_run=60"], launcher=[str(launcher)])
    assert machine.trained_steps(train_dir) == 100
    assert log.read_text().count(f"launched {script}") == 2


def test_a_cell_names_the_policy_options_it_changed_from_the_defaults():
    from lerobot.policies.my_policy import MyPolicyConfig
    from lerobot.policies.rtc.configuration_rtc import RTCConfig

    assert machine.policy_options(MyPolicyConfig()) == {}
    changed = MyPolicyConfig(
        environment_state_loss_weight=1.0, resize_shape=(96, 96), rtc_config=RTCConfig(execution_horizon=4)
    )
    options = machine.policy_options(changed)
    assert set(options) == {"environment_state_loss_weight", "resize_shape", "rtc_config"}
    assert options["resize_shape"] == [96, 96] and options["rtc_config"]["execution_horizon"] == 4
    assert json.loads(json.dumps(options)) == options  # what the results file stores


STOPPED_PARENT = """
import multiprocessing as mp, os, sys, time
from pathlib import Path
from benchmarks import machine

def worker(marker):
    end = time.monotonic() + 60  # a worker that never notices still ends, so a failing test leaves nothing behind
    while not machine.parent_exited() and time.monotonic() < end:
        time.sleep(0.05)
    if machine.parent_exited():
        Path(marker).write_text("stopped")

if __name__ == "__main__":
    mp.get_context("spawn").Process(target=worker, args=(sys.argv[1],)).start()
    time.sleep(2)
    os._exit(0 if not Path(sys.argv[1]).exists() and not machine.parent_exited() else 1)  # killed: no cleanup
"""


def test_a_pool_worker_notices_that_the_run_that_started_it_was_stopped(tmp_path):
    script, marker = tmp_path / "run.py", tmp_path / "stopped"
    script.write_text(STOPPED_PARENT)
    env = {**os.environ, "PYTHONPATH": str(machine.REPO)}
    run = subprocess.run([sys.executable, str(script), str(marker)], env=env, timeout=60)
    assert run.returncode == 0, "the worker stopped while its parent was alive"
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the worker outlived its parent"
