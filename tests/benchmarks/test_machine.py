"""Helpers shared by the benchmark runners: resumable CLI runs and generated document sections."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import machine  # noqa: E402


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


def test_a_generated_section_replaces_the_previous_one():
    text = "intro\n<!-- a -->\nold\n<!-- b -->\noutro\n"
    new = machine.replace_section(text, "<!-- a -->", "<!-- b -->", "new")
    assert new == "intro\n<!-- a -->\nnew\n<!-- b -->\noutro\n"
    assert machine.replace_section(new, "<!-- a -->", "<!-- b -->", "new") == new
    with pytest.raises(SystemExit, match="exactly one"):
        machine.replace_section(text + "<!-- a -->", "<!-- a -->", "<!-- b -->", "new")
