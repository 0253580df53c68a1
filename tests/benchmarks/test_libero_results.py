"""The LIBERO results writers: JSON, MDX table and model card come from one results dict and agree."""

import json
from dataclasses import replace

import pytest

from benchmarks.libero import report_libero, run_libero

RESULTS = {
    "hardware": "x86_64, 2 CPU cores, no GPU",
    "git_commit": "0123456789abcdef",
    "data": {
        "demos_per_task": 50,
        "generator_commit": {"libero_object": ["abc"], "libero_spatial": ["abc", "def"]},
    },
    "train_steps": 5000,
    "batch_size": 16,
    "seed": 1000,
    "params": 17_000_000,
    "train_wall_s": 7200.0,
    "eval_seed": 1000,
    "suites": {
        "libero_object": {"success_rate": 0.92, "n_episodes": 100, "per_task": {"a": 1.0, "b": 0.84}},
        "libero_spatial": {"success_rate": 0.8, "n_episodes": 100, "per_task": {"c": 0.8, "d": 0.8}},
    },
    "average": 0.86,
    "eval_wall_s": 3600.0,
}


def test_table_model_card_and_mdx_carry_the_same_numbers():
    table = report_libero.results_table(RESULTS)
    assert "| libero_object | 92.0 | 100 |" in table and "| libero_spatial | 80.0 | 100 |" in table
    assert "| **Average** | **86.0** | 200 |" in table
    card = report_libero.model_card(RESULTS)
    assert table in card and "| libero_object | b | 84 |" in card
    assert "not** the human demonstrations of `lerobot/libero`" in card
    # the reproduce commands carry the settings the numbers were produced with
    assert (
        "make libero-train LIBERO_SUITES=libero_object,libero_spatial LIBERO_STEPS=5000 LIBERO_BATCH=16 "
        "LIBERO_POLICY=''\n" in card
    )
    assert "make libero-eval LIBERO_SUITES=libero_object,libero_spatial LIBERO_EVAL_EPISODES=50\n" in card
    mdx = f"# Policy\n\n{report_libero.MDX_START}\nold table\n{report_libero.MDX_END}\n\n## After\n"
    updated = report_libero.machine.replace_section(
        mdx, report_libero.MDX_START, report_libero.MDX_END, table
    )
    assert "old table" not in updated and table in updated and updated.endswith("## After\n")
    assert (
        report_libero.machine.replace_section(updated, report_libero.MDX_START, report_libero.MDX_END, table)
        == updated
    )  # re-running never duplicates


def test_the_reproduce_commands_name_the_policy_options_and_the_demos():
    """Whatever the Makefile's defaults, the commands rebuild what the numbers were made with."""
    results = RESULTS | {
        "policy_options": {"backbone_stages": 3, "resize_shape": [96, 96], "prediction_type": "sample"},
        "data": RESULTS["data"] | {"until_plan_ends": [True]},
    }
    commands = report_libero.reproduce(results)
    assert "make libero-demos LIBERO_SUITE=libero_spatial LIBERO_UNTIL_PLAN_ENDS=1\n" in commands
    assert (
        "LIBERO_BATCH=16 LIBERO_UNTIL_PLAN_ENDS=1 LIBERO_POLICY='--policy.backbone_stages=3 "
        "--policy.resize_shape=[96,96] --policy.prediction_type=sample'\n" in commands
    )
    assert (
        "make libero-report LIBERO_SUITES=libero_object,libero_spatial LIBERO_UNTIL_PLAN_ENDS=1\n" in commands
    )
    noisy_start = results | {"data": results["data"] | {"robot_start_noise": [0.02]}}
    assert (
        "make libero-demos LIBERO_SUITE=libero_object LIBERO_UNTIL_PLAN_ENDS=1 LIBERO_ROBOT_START_NOISE=0.02\n"
        in report_libero.reproduce(noisy_start)
    )


def test_mdx_without_markers_is_refused():
    with pytest.raises(SystemExit, match="libero-results:start"):
        report_libero.machine.replace_section(
            "# Policy\n", report_libero.MDX_START, report_libero.MDX_END, "table"
        )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 15, "nproc": 2}, "multiple of nproc"),
        ({"nproc": 0}, "multiple of nproc"),
        ({"suites": ["libero_object", "libero_spatial"], "tasks": [0]}, "task ids of one suite"),
    ],
)
def test_a_run_that_cannot_be_launched_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        run_libero.LiberoRun(**settings)


def test_held_out_layouts_get_their_own_column():
    results = {**RESULTS, "suites": {name: dict(suite) for name, suite in RESULTS["suites"].items()}}
    results["suites"]["libero_object"]["held_out_layouts"] = {"success_rate": 0.85, "n_episodes": 100}
    table = report_libero.results_table(results)
    assert table.splitlines()[0] == "| Suite | Success (%) | Episodes | Held-out layouts (%, episodes) |"
    assert "| libero_object | 92.0 | 100 | 85.0 (100) |" in table
    assert "| libero_spatial | 80.0 | 100 | not run |" in table
    assert "Held-out" not in report_libero.results_table(RESULTS)


def _evaluated(run: run_libero.LiberoRun, monkeypatch) -> tuple[list[str], object]:
    """The lerobot-eval command that `evaluate` runs for the run's one suite, and the folder it writes to."""
    ran = []
    monkeypatch.setattr(run_libero.machine, "trained_steps", lambda train_dir: 100)
    monkeypatch.setattr(
        run_libero.machine,
        "run_unless_done",
        lambda command, log, folder, wanted: ran.append((command, folder)),
    )
    run_libero.evaluate(run)
    ((command, folder),) = ran
    return command, folder


@pytest.mark.parametrize("held_out", [False, True])
def test_held_out_layouts_are_evaluated_from_sampled_starts_into_their_own_folder(
    tmp_path, monkeypatch, held_out
):
    run = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, held_out_layouts=held_out)
    command, folder = _evaluated(run, monkeypatch)
    assert ("--env.init_states=false" in command) == held_out
    assert "--seed=1000" in command and "--env.task=libero_object" in command
    assert folder == tmp_path / ("eval_held_out_layouts" if held_out else "eval") / "libero_object"


def test_the_checks_table_has_a_row_per_check_with_its_options_and_failure_breakdowns(tmp_path):
    import json

    check = {
        **RESULTS,
        "suites": {"libero_object": {"success_rate": 0.2, "n_episodes": 50, "per_task": {"a": 0.2}}},
        "average": 0.2,
        "tasks": [0],
        "train_steps": 2000,
        "train_wall_s": 2580.0,
    }
    (tmp_path / "libero_object_tasks0.json").write_text(json.dumps(check))
    breakdown = {"outcomes": {"success": 10, "missed the grasp": 40}, "tasks": {"0": {"episodes": 50}}}
    (tmp_path / "libero_object_tasks0_failures.json").write_text(json.dumps(breakdown))
    (tmp_path / "libero_ablations").mkdir()
    lever = {**check, "policy_options": {"environment_state_loss_weight": 1.0}, "average": 0.5}
    (tmp_path / "libero_ablations" / "env_state.json").write_text(json.dumps(lever))
    replanning = {**check, "eval_options": ["--policy.n_action_steps=4"], "average": 0.3}
    (tmp_path / "libero_ablations" / "n_action_steps4.json").write_text(json.dumps(replanning))
    repeat = {**check, "seed": 1001, "average": 0.4}
    (tmp_path / "libero_ablations" / "seed1001.json").write_text(json.dumps(repeat))
    dart = {**check, "data": {**RESULTS["data"], "action_noise": [0.2]}, "average": 0.6}
    (tmp_path / "libero_ablations" / "x_action_noise.json").write_text(json.dumps(dart))
    more_demos = {**check, "data": {**RESULTS["data"], "demos_per_task": 100}, "average": 0.7}
    (tmp_path / "libero_ablations" / "y_demos100.json").write_text(json.dumps(more_demos))
    recording = {"generator_commit": {"libero_object": ["18e5d8b23dd6"]}, "until_plan_ends": [True]}
    released = {**check, "data": {**RESULTS["data"], **recording}, "average": 0.8}
    (tmp_path / "libero_ablations" / "z_until_plan_ends.json").write_text(json.dumps(released))

    table = report_libero.check_table(tmp_path).splitlines()
    assert len(table) == 9  # header, rule, seven checks; the breakdown is not a check of its own
    default, ablation, at_eval, second_seed, noisy_demos, more, to_the_end = table[2:]
    assert "| libero_object 0 | defaults | 2000 × 16 | 43 min | 20% (50) |" in default
    assert "failures (50 episodes): 40 missed the grasp, 10 success" in default
    assert "`environment_state_loss_weight=1.0`" in ablation and "| 50% (50) | not run |" in ablation
    assert (
        "| `--policy.n_action_steps=4` at evaluation | 2000 × 16 |" in at_eval and "| 30% (50) |" in at_eval
    )
    assert (
        "| libero_object 0 | training seed 1001 | 2000 × 16 |" in second_seed
        and "| 40% (50) |" in second_seed
    )
    assert "| libero_object 0 | demos with action noise 0.2 | 2000 × 16 |" in noisy_demos
    assert "| libero_object 0 | 100 demos per task | 2000 × 16 |" in more and "| 70% (50) |" in more
    assert "| libero_object 0 | demos to the plan's end (recorded at 18e5d8b) | 2000 × 16 |" in to_the_end


def test_a_checks_swapped_instruction_run_is_summed_into_its_row_not_a_row_of_its_own(tmp_path):
    import json

    check = {
        **RESULTS,
        "suites": {
            "libero_object": {"success_rate": 0.2, "n_episodes": 20, "per_task": {"a": 0.2, "b": 0.2}}
        },
        "average": 0.2,
        "tasks": [0, 1],
        "train_steps": 4000,
        "train_wall_s": 3600.0,
    }
    (tmp_path / "libero_ablations").mkdir()
    (tmp_path / "libero_ablations" / "film.json").write_text(json.dumps(check))
    swapped = {
        task: {
            "episodes": 3,
            "language_grounding": {"named_object": "x", "task_object": "y", "picked": picked},
        }
        for task, picked in {
            "0": {"the named object": 2, "nothing": 1},
            "1": {"the named object": 1, "the task's own object": 2},
        }.items()
    }
    grounding = {"suite": "libero_object", "swap_instruction": True, "seed": 1000, "tasks": swapped}
    (tmp_path / "libero_ablations" / "film_grounding.json").write_text(json.dumps(grounding))

    (row,) = report_libero.check_table(tmp_path).splitlines()[2:]
    assert "| libero_object 0,1 | defaults | 4000 × 16 | 60 min | 20% (20) |" in row
    assert (
        "told another task's sentence (6 episodes): picked the named object in 3, "
        "the task's own object in 2, nothing in 1" in row
    )


def test_evaluation_options_get_their_own_folder(tmp_path, monkeypatch):
    options = ["--policy.n_action_steps=4", "--env.task_ids=[0, 1]"]
    run = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, extra=options)
    command, folder = _evaluated(run, monkeypatch)
    assert set(options) <= set(command)
    assert folder == tmp_path / "eval_policy.n_action_steps=4_env.task_ids=_0,_1_" / "libero_object"
    assert run_libero.eval_dir(run, "libero_object") == folder
    default = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path)
    assert run_libero.eval_dir(default, "libero_object") == tmp_path / "eval" / "libero_object"


def test_a_training_run_keeps_the_commit_that_started_it(tmp_path, monkeypatch):
    """The report names the code that trained the checkpoint, not the code checked out when it is written."""
    steps, commit = [0], ["started"]
    monkeypatch.setattr(run_libero, "merged_dataset", lambda suites, data: tmp_path / "data")
    monkeypatch.setattr(run_libero.machine, "trained_steps", lambda train_dir: steps[0])
    monkeypatch.setattr(run_libero.machine, "git_commit", lambda *paths: commit[0])
    monkeypatch.setattr(run_libero.machine, "train_or_resume", lambda *args: None)
    run = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, nproc=2, batch_size=16)
    run_libero.train(run)
    steps[0], commit[0] = 500, "moved on"
    run_libero.train(run)  # resumed at a later commit
    assert run_libero.train_launch(tmp_path) == {
        "nproc": 2,
        "batch_size": 16,
        "policy_options": [],
        "dataset": f"{tmp_path.name}/data",
        "tasks": None,
        "git_commit": "started",
    }
    with pytest.raises(SystemExit, match="resume with the same"):
        run_libero.train(run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, nproc=1, batch_size=16))


def test_a_training_run_resumes_only_with_the_policy_options_it_started_with(tmp_path, monkeypatch):
    """A resumed lerobot-train takes its options from the checkpoint: other `--policy.*` options would be ignored."""
    steps = [0]
    monkeypatch.setattr(run_libero, "merged_dataset", lambda suites, data: tmp_path / "data")
    monkeypatch.setattr(run_libero.machine, "trained_steps", lambda train_dir: steps[0])
    monkeypatch.setattr(run_libero.machine, "train_or_resume", lambda *args: None)
    recipe = ["--policy.backbone_stages=3", "--policy.resize_shape=[96,96]"]
    run_libero.train(run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, extra=recipe))
    steps[0] = 500
    run_libero.train(run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, extra=recipe))
    for other in ([], recipe[:1]):
        with pytest.raises(SystemExit, match="--policy.\\* options"):
            run_libero.train(run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, extra=other))
    # Launches recorded before the options were have no say.
    launch = run_libero.train_launch(tmp_path)
    del launch["policy_options"]
    (tmp_path / run_libero.LAUNCH).write_text(json.dumps(launch))
    run_libero.train(run_libero.LiberoRun(suites=["libero_object"], out=tmp_path))


def test_a_training_run_resumes_only_on_the_data_it_started_with(tmp_path, monkeypatch):
    """A resumed lerobot-train reads its dataset from the checkpoint: other suites or tasks would be ignored."""
    steps = [0]
    monkeypatch.setattr(run_libero, "merged_dataset", lambda suites, data: data / "+".join(suites))
    monkeypatch.setattr(run_libero, "task_episodes", lambda dataset, suite, tasks: tasks)
    monkeypatch.setattr(run_libero.machine, "trained_steps", lambda train_dir: steps[0])
    monkeypatch.setattr(run_libero.machine, "train_or_resume", lambda *args: None)
    goal_10 = run_libero.LiberoRun(suites=["libero_goal", "libero_10"], out=tmp_path, data=tmp_path / "upe")
    run_libero.train(goal_10)
    steps[0] = 500
    run_libero.train(goal_10)
    for suites, data in (
        (["libero_object", "libero_spatial"], goal_10.data),
        (goal_10.suites, tmp_path / "first"),
    ):
        with pytest.raises(SystemExit, match="--data"):
            run_libero.train(replace(goal_10, suites=suites, data=data))
    check = run_libero.LiberoRun(
        suites=["libero_object"], tasks=[0], out=tmp_path / "check", data=goal_10.data
    )
    steps[0] = 0
    run_libero.train(check)
    steps[0] = 500
    with pytest.raises(SystemExit, match="--tasks"):
        run_libero.train(replace(check, tasks=[1]))


def _checkpoint(suites: dict[str, float]) -> dict:
    rows = {
        suite: {"success_rate": rate, "n_episodes": 100, "per_task": {"a": rate}}
        for suite, rate in suites.items()
    }
    return {**RESULTS, "suites": rows, "average": sum(suites.values()) / len(suites)}


def test_suites_from_two_checkpoints_are_published_side_by_side():
    """libero.json keeps every checkpoint; a new report replaces the one that covered its suites."""
    object_spatial = _checkpoint({"libero_object": 0.0, "libero_spatial": 0.1})
    goal_10 = _checkpoint({"libero_goal": 0.6, "libero_10": 0.3})
    # libero.json as written before it held several checkpoints: one checkpoint's results at the top level
    published = report_libero.combine(object_spatial, goal_10)
    assert list(published["checkpoints"]) == ["my_policy_libero_object_spatial", "my_policy_libero_goal_10"]
    assert list(published["suites"]) == ["libero_spatial", "libero_object", "libero_goal", "libero_10"]
    assert published["suites"]["libero_goal"]["checkpoint"] == "my_policy_libero_goal_10"
    assert published["average"] == 0.25
    retrained = _checkpoint({"libero_object": 0.9, "libero_spatial": 0.8})
    published = report_libero.combine(published, retrained)
    assert published["checkpoints"]["my_policy_libero_object_spatial"] is retrained
    assert published["suites"]["libero_object"]["success_rate"] == 0.9 and published["average"] == 0.65
    # one checkpoint for the four suites replaces both
    four = _checkpoint(dict.fromkeys(report_libero.ALL_SUITES, 0.5))
    assert list(report_libero.combine(published, four)["checkpoints"]) == ["my_policy_libero"]

    table = report_libero.results_table(published)
    assert table.splitlines()[0] == "| Suite | Checkpoint | Success (%) | Episodes |"
    assert "| libero_goal | `my_policy_libero_goal_10` | 60.0 | 100 |" in table
    assert "| **Average** | | **65.0** | 400 |" in table
    section = report_libero.mdx_section(published)
    assert (
        section.count("make libero-train") == 2
        and "`my_policy_libero_goal_10`: Trained 5000 steps" in section
    )
    card = report_libero.model_card(goal_10)
    assert "# my_policy_libero_goal_10" in card and "--policy.path=lerobot/my_policy_libero_goal_10" in card
    assert "Checkpoint" not in card and "libero_object" not in card


def _grounding_check(checkpoint: str, step: int, named_goal: bool) -> dict:
    """`make libero-grounding`'s JSON (failure_breakdown --swap-instruction) for two tasks of libero_goal."""
    grounding = {"instruction": "put the bowl on the stove", "named_object": "bowl", "task_object": "plate"}
    if named_goal:
        grounding["goal_met"] = {"the named task's": 3, "the task's own": 1}
    task = {
        "episodes": 10,
        "language_grounding": grounding | {"picked": {"the named object": 6, "nothing": 4}},
    }
    return {
        "checkpoint": checkpoint,
        "train_step": step,
        "suite": "libero_goal",
        "seed": 1000,
        "swap_instruction": True,
        # the second task has no other task's sentence naming another object of its scene: no grounding
        "tasks": {"0": task, "1": {"episodes": 10}, "2": task},
    }


def test_the_language_grounding_of_the_last_checkpoint_goes_into_the_results(tmp_path):
    run = run_libero.LiberoRun(suites=["libero_goal"], out=tmp_path / "run")
    step_dir = run.train_dir / "checkpoints" / "002000"
    (step_dir / "training_state").mkdir(parents=True)
    (step_dir / "training_state" / "training_step.json").write_text('{"step": 2000}')
    (run.train_dir / "checkpoints" / "last").symlink_to("002000")
    last = str(run.train_dir / "checkpoints" / "last" / "pretrained_model")
    results = tmp_path / "results"
    results.mkdir()

    def grounding():
        return report_libero.language_grounding(run, "libero_goal", results)

    assert grounding() is None
    # an earlier step of the same run, and another run's check, are not this checkpoint's
    (results / "libero_grounding_libero_goal.json").write_text(json.dumps(_grounding_check(last, 1500, True)))
    other = str(tmp_path / "other" / "train" / "checkpoints" / "002000" / "pretrained_model")
    (results / "libero_grounding_libero_goal_x.json").write_text(
        json.dumps(_grounding_check(other, 2000, True))
    )
    assert grounding() is None

    (results / "libero_grounding_libero_goal.json").write_text(json.dumps(_grounding_check(last, 2000, True)))
    summary = grounding()
    assert summary["tasks"] == 2 and summary["n_episodes"] == 20
    assert summary["picked"] == {"the named object": 12, "nothing": 8}
    assert summary["goal_met"] == {"n_episodes": 20, "the named task's": 6, "the task's own": 2}
    (results / "libero_grounding_libero_goal.json").write_text(
        json.dumps(_grounding_check(last, 2000, False))
    )
    assert "goal_met" not in grounding()  # not judged where the named task's goal is not in the scene

    (results / "libero_grounding_libero_goal.json").write_text(json.dumps(_grounding_check(last, 2000, True)))
    suites = {"libero_goal": RESULTS["suites"]["libero_object"] | {"language_grounding": grounding()}}
    line = (
        "- libero_goal, 20 episodes over 2 tasks: picked the named object in 12, nothing in 8; the named task's "
        "goal met in 6 of 20, the original task's in 2 (seed 1000, "
    )
    text = report_libero.grounding_text(suites)
    assert line in text
    checkpoint = {**RESULTS, "suites": suites, "average": 0.92}
    assert text in report_libero.model_card(checkpoint)
    assert text in report_libero.mdx_section(report_libero.combine(None, checkpoint))
    assert report_libero.grounding_text(RESULTS["suites"]) == ""
    assert "Language grounding" not in report_libero.model_card(RESULTS)


def _saved_checkpoints(run: run_libero.LiberoRun, steps: list[int]) -> None:
    """`lerobot-train`'s checkpoint folders for `steps`, `last` pointing at the latest."""
    for step in steps:
        state = run.train_dir / "checkpoints" / f"{step:06d}" / "training_state"
        state.mkdir(parents=True)
        (state / "training_step.json").write_text(json.dumps({"step": step}))
    (run.train_dir / "checkpoints" / "last").symlink_to(f"{max(steps):06d}")


def test_an_earlier_checkpoint_is_evaluated_into_its_own_folder(tmp_path, monkeypatch):
    run = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path, checkpoint_step=1000)
    _saved_checkpoints(run, [1000, 2000])
    command, folder = _evaluated(run, monkeypatch)
    assert f"--policy.path={run.train_dir / 'checkpoints' / '001000' / 'pretrained_model'}" in command
    assert folder == tmp_path / "eval_step001000" / "libero_object"
    held_out = replace(run, held_out_layouts=True)
    assert run_libero.eval_dir(held_out, "libero_object").parent.name == "eval_held_out_layouts_step001000"
    with pytest.raises(SystemExit, match=r"no checkpoint of step 1500 .*saved: \[1000, 2000\]"):
        replace(run, checkpoint_step=1500).checkpoint()
    last, _ = _evaluated(replace(run, checkpoint_step=None), monkeypatch)
    assert f"--policy.path={run.train_dir / 'checkpoints' / 'last' / 'pretrained_model'}" in last


def test_the_learning_curve_lists_the_evaluated_checkpoints_then_the_last(tmp_path):
    run = run_libero.LiberoRun(suites=["libero_object"], out=tmp_path)
    _saved_checkpoints(run, [1000, 2000, 3000])

    def evaluated(step: int | None, pc_success: float, n_episodes: int) -> None:
        folder = run_libero.eval_dir(replace(run, checkpoint_step=step), "libero_object")
        folder.mkdir(parents=True)
        overall = {"overall": {"pc_success": pc_success, "n_episodes": n_episodes}}
        (folder / "eval_info.json").write_text(json.dumps(overall))
        (folder / "done.json").write_text("{}")

    assert report_libero.learning_curve(run, "libero_object") == []
    evaluated(1000, 30.0, 10)
    evaluated(
        3000, 92.0, 100
    )  # the last checkpoint: not an earlier point (the report adds its own evaluation)
    # an evaluation with other options is not a point of the curve, nor one that did not finish
    replaced = replace(run, checkpoint_step=2000, extra=["--policy.n_action_steps=4"])
    run_libero.eval_dir(replaced, "libero_object").mkdir(parents=True)
    assert report_libero.learning_curve(run, "libero_object") == [
        {"step": 1000, "success_rate": 0.3, "n_episodes": 10}
    ]

    curve = [
        {"step": 1000, "success_rate": 0.3, "n_episodes": 10},
        {"step": 5000, "success_rate": 0.92, "n_episodes": 100},
    ]
    suites = {"libero_object": RESULTS["suites"]["libero_object"] | {"learning_curve": curve}}
    text = report_libero.learning_curve_text(suites)
    assert "- libero_object: 1000 steps 30% (10), 5000 steps 92% (100)" in text
    checkpoint = {**RESULTS, "suites": suites, "average": 0.92}
    assert text in report_libero.model_card(checkpoint)
    assert text in report_libero.mdx_section(report_libero.combine(None, checkpoint))
    assert report_libero.learning_curve_text(RESULTS["suites"]) == ""
