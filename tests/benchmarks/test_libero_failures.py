"""The LIBERO failure breakdown: one outcome per episode from the simulator's state, on lerobot-eval's rollouts."""

import os

import numpy as np
import pytest
import torch

from benchmarks.libero import failure_breakdown, libero_env, setup_libero
from benchmarks.libero.failure_breakdown import Episode, Trace, outcome

os.environ.setdefault("LIBERO_CONFIG_PATH", str(setup_libero.DEFAULT_CONFIG_PATH))
TABLE_Z, TARGET = 0.9, np.array([0.3, 0.0, 0.9])
START = {"object": [0.0, 0.0, TABLE_Z], "target": TARGET.tolist()}


def trace(
    object_path: list[tuple[float, float, float]], eef_offset: float = 0.0, last_gripper: float = -1.0
) -> Trace:
    """The object following `object_path`, the gripper `eef_offset` m above it and its last command
    `last_gripper` (LIBERO's: +1 closes), the target fixed."""
    objects = [np.array(p) for p in object_path]
    eef = [p + np.array([0.0, 0.0, eef_offset]) for p in objects]
    return Trace(
        eef=eef, object=objects, target=[TARGET] * len(objects), gripper_commands=[1.0, last_gripper]
    )


CARRIED_TO_TARGET = [(0, 0, TABLE_Z), (0.1, 0, TABLE_Z + 0.1), (0.25, 0, TABLE_Z + 0.02)]


@pytest.mark.parametrize(
    ("path", "eef_offset", "last_gripper", "expected"),
    [
        ([(0, 0, TABLE_Z)] * 3, 0.2, -1.0, "never reached the object"),
        ([(0, 0, TABLE_Z), (0, 0, TABLE_Z + 0.01)], 0.0, 1.0, "missed the grasp"),
        (CARRIED_TO_TARGET, 0.0, 1.0, "held it at the target until time ran out"),
        (CARRIED_TO_TARGET, 0.0, -1.0, "put it down near the target"),  # let go, however close the hand
        ([(0, 0, TABLE_Z), (0.1, 0, TABLE_Z + 0.1)], 0.0, 1.0, "ran out of time holding it"),
        ([(0, 0, TABLE_Z), (0.1, 0, TABLE_Z + 0.1), (-0.2, 0, TABLE_Z)], 0.0, -1.0, "dropped it elsewhere"),
    ],
)
def test_each_failure_has_its_outcome(path, eef_offset, last_gripper, expected):
    assert outcome(trace(path, eef_offset, last_gripper), success=False, pick_and_place=True) == expected


def test_a_closed_gripper_away_from_the_object_at_the_target_has_let_go():
    left = trace(CARRIED_TO_TARGET, last_gripper=1.0)
    left.eef[-1] = left.object[-1] + np.array([0.0, 0.0, 0.1])
    assert outcome(left, success=False, pick_and_place=True) == "put it down near the target"


def test_success_and_other_tasks():
    missed = trace([(0, 0, TABLE_Z)] * 3, eef_offset=0.2)
    assert outcome(missed, success=True, pick_and_place=True) == "success"
    missed.conditions_held = [[False, False], [True, True], [True, False]]  # judged at the end
    assert outcome(missed, success=False, pick_and_place=False) == "1 of 2 goal conditions held at the end"


def test_binarizing_snaps_only_the_gripper_command():
    action = torch.tensor([[0.1, -0.2, 0.3, 0.0, 0.0, 0.5, 0.3], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.01]])
    snapped = failure_breakdown.snap_gripper(action)
    assert snapped[:, -1].tolist() == [1.0, -1.0]
    assert (
        torch.equal(snapped[:, :-1], action[:, :-1]) and action[0, -1] == 0.3
    )  # the input is left as it was


def test_the_picked_object_is_the_one_lifted_highest():
    still = {"soup": 0.9, "cheese": 0.9}
    lifted = Trace([], [], [], [], heights=[still, {"soup": 0.92, "cheese": 0.98}, still])
    assert failure_breakdown.picked_object(lifted) == "cheese"
    nudged = Trace([], [], [], [], heights=[still, {"soup": 0.92, "cheese": 0.91}])
    assert failure_breakdown.picked_object(nudged) is None


def test_soft_gripper_share():
    assert failure_breakdown.soft_gripper_share([1.0, -1.0, 0.2, -0.4]) == 0.5
    assert failure_breakdown.soft_gripper_share([]) == 0.0


def test_results_of_consecutive_runs_merge_in_episode_order():
    conditions = ["in soup basket", "in cheese basket"]
    episodes = [
        Episode("success", 0.0, "soup", START, [True, True]),
        Episode("1 of 2 goal conditions held at the end", 0.5, None, START, [False, True]),
        Episode("success", 0.25, "soup", START, [True, True]),
    ]
    first = failure_breakdown.task_result("t", {}, conditions, episodes[:1])
    second = failure_breakdown.task_result("t", {}, conditions, episodes[1:])
    whole = failure_breakdown.task_result("t", {}, conditions, episodes)
    assert failure_breakdown.merged([first, second]) == whole
    assert whole["success_rate"] == 0.6667 and whole["soft_gripper_share"] == 0.25
    assert whole["goal_conditions_held_at_end"] == {"in soup basket": 2, "in cheese basket": 3}
    # Told another task's sentence: how often each task's goal was met merges too.
    grounding = {"instruction": "i", "named_object": "cheese", "task_object": "soup", "named_goal": ["g"]}
    swapped = [
        Episode("success", 0.0, "soup", START, [True, True], False),
        Episode("0 of 2 goal conditions held at the end", 0.0, "cheese", START, [False, False], True),
        Episode("0 of 2 goal conditions held at the end", 0.0, "cheese", START, [False, False], True),
    ]
    parts = [
        failure_breakdown.task_result("t", grounding, conditions, run) for run in (swapped[:2], swapped[2:])
    ]
    merged = failure_breakdown.merged(parts)
    assert merged == failure_breakdown.task_result("t", grounding, conditions, swapped)
    assert merged["language_grounding"]["goal_met"] == {"the named task's": 2, "the task's own": 1}
    assert merged["language_grounding"]["picked"] == {"the task's own object": 1, "the named object": 2}


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory):
    """An untrained my_policy saved as lerobot-train saves one, for LIBERO's two 256² cameras and 8-D state."""
    from my_policy_helpers import SMALL

    from lerobot.configs import FeatureType, PolicyFeature
    from lerobot.policies.my_policy import MyPolicy, MyPolicyConfig, make_my_policy_pre_post_processors
    from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

    path = tmp_path_factory.mktemp("checkpoint")
    cameras = [f"{OBS_IMAGES}.image", f"{OBS_IMAGES}.image2"]
    config = MyPolicyConfig(
        input_features={
            **{key: PolicyFeature(FeatureType.VISUAL, (3, 256, 256)) for key in cameras},
            OBS_STATE: PolicyFeature(FeatureType.STATE, (8,)),
        },
        output_features={ACTION: PolicyFeature(FeatureType.ACTION, (7,))},
        **SMALL,
    )
    stats = {
        OBS_STATE: {"mean": torch.zeros(8), "std": torch.ones(8)},
        ACTION: {"mean": torch.zeros(7), "std": torch.full((7,), 0.5)},
        **{key: {"mean": torch.full((3, 1, 1), 0.5), "std": torch.full((3, 1, 1), 0.25)} for key in cameras},
    }
    torch.manual_seed(0)
    MyPolicy(config).save_pretrained(path)
    for processor in make_my_policy_pre_post_processors(config, stats):
        processor.save_pretrained(path)
    return path


@pytest.mark.parametrize("binarize", [False, True])
def test_an_untrained_checkpoint_on_a_short_lerobot_eval_rollout(untrained_checkpoint, binarize):
    """A real LIBERO episode through lerobot-eval's `rollout` (20 steps): the simulator is read after the reset and
    every step, the gripper commands are recorded (and snapped to ±1 when asked)."""
    result = failure_breakdown.evaluate_task(
        untrained_checkpoint,
        "libero_object",
        0,
        episodes=1,
        binarize_gripper=binarize,
        swap_instruction=binarize,  # one run with each option on
        episode_length=20,
    )
    assert result["episodes"] == 1 and result["success_rate"] == 0.0
    if binarize:
        grounding = result["language_grounding"]
        assert (
            grounding["task_object"] == "alphabet_soup_1" and grounding["named_object"] != "alphabet_soup_1"
        )
        assert grounding["named_object"].split("_")[0] in grounding["instruction"].replace(" ", "_")
        assert sum(grounding["picked"].values()) == 1
        assert grounding["named_goal"] == [f"in {grounding['named_object']} basket_1_contain_region"]
        assert grounding["goal_met"] == {"the named task's": 0, "the task's own": 0}
    (only,) = result["per_episode"]
    assert only in {"never reached the object", "missed the grasp"}
    assert 0.0 <= result["soft_gripper_share"] <= 1.0
    assert result["goal_conditions_held_at_end"] == {"in alphabet_soup_1 basket_1_contain_region": 0}


def test_a_task_of_two_objects_says_how_many_goal_conditions_held(untrained_checkpoint):
    """libero_10's first task puts two objects in the basket: its episodes are judged by the goal's two
    conditions, not by the first object alone."""
    result = failure_breakdown.evaluate_task(
        untrained_checkpoint, "libero_10", 0, episodes=1, episode_length=1
    )
    assert result["per_episode"] == ["0 of 2 goal conditions held at the end"]
    assert list(result["goal_conditions_held_at_end"].values()) == [0, 0]
    assert all(condition.startswith("in ") for condition in result["goal_conditions_held_at_end"])


def test_a_swapped_libero_goal_instruction_is_judged_by_the_named_tasks_goal(untrained_checkpoint):
    """libero_goal's tasks share one scene, so told another task's sentence, an episode is judged by that task's
    goal too (here the first task, opening a drawer, told to put the bowl on the stove), over workers as well."""
    result = failure_breakdown.evaluate_tasks(
        untrained_checkpoint,
        "libero_goal",
        [0],
        episodes=2,
        workers=2,
        swap_instruction=True,
        episode_length=1,
    )[0]
    grounding = result["language_grounding"]
    assert grounding["named_goal"] == ["on akita_black_bowl_1 flat_stove_1_cook_region"]
    assert grounding["instruction"] == "put the bowl on the stove"
    assert grounding["goal_met"] == {"the named task's": 0, "the task's own": 0}
    assert result["per_episode_named_goal_met"] == [False, False]


def test_episodes_split_over_workers_start_where_lerobot_eval_starts_them(untrained_checkpoint):
    """Two processes running one episode each start from LIBERO's fixed starts 0 and 1, as one process running
    both (and lerobot-eval's episodes 0 and 1) does. (Every fixed start of this task has the soup at the same
    place; the basket moves.)"""
    one = failure_breakdown.evaluate_task(
        untrained_checkpoint, "libero_object", 0, episodes=2, episode_length=1
    )
    split = failure_breakdown.evaluate_tasks(
        untrained_checkpoint, "libero_object", [0], episodes=2, workers=2, episode_length=1
    )[0]
    starts = one["per_episode_start"]
    assert starts[0] != starts[1]
    assert split["per_episode_start"] == starts and split["episodes"] == 2


def test_held_out_layouts_start_from_the_seeds_sampled_layout_not_a_fixed_start(untrained_checkpoint):
    """`--held-out-layouts` runs what `lerobot-eval --env.init_states=false` runs: episode i starts from the layout
    LIBERO's samplers draw from seed + i (the same on every run), not from fixed start i."""
    fixed = failure_breakdown.evaluate_task(
        untrained_checkpoint, "libero_object", 0, episodes=1, episode_length=1
    )
    held_out = [
        failure_breakdown.evaluate_task(
            untrained_checkpoint, "libero_object", 0, episodes=1, held_out_layouts=True, episode_length=1
        )["per_episode_start"]
        for _ in range(2)
    ]
    assert held_out[0] == held_out[1]
    assert held_out[0] != fixed["per_episode_start"]


def test_the_default_robot_pose_diagnostic_keeps_the_fixed_starts_objects_and_moves_only_the_arm():
    """LIBERO's fixed starts hold the arm off its default pose; the diagnostic puts it back where every sampled
    start (and so every demonstration) has it, and leaves the objects where the fixed start put them."""
    from lerobot.envs.libero import LiberoEnv, _get_suite

    def first_observation(init_states: bool, default_pose: bool):
        env = LiberoEnv(
            _get_suite("libero_object"),
            0,
            "libero_object",
            observation_height=32,
            observation_width=32,
            obs_type="pixels_agent_pos",
            init_states=init_states,
        )
        if default_pose:
            failure_breakdown.reset_to_default_robot_pose(env)
        observation, _ = env.reset(seed=1000)
        positions = libero_env.object_positions(env)
        env.close()
        return observation["robot_state"]["eef"]["pos"], positions

    fixed_eef, fixed_objects = first_observation(init_states=True, default_pose=False)
    sampled_eef, _ = first_observation(init_states=False, default_pose=False)
    default_eef, default_objects = first_observation(init_states=True, default_pose=True)
    assert np.abs(fixed_eef - sampled_eef).max() > 1e-3  # fixed start 0 holds the hand > 1 mm off
    np.testing.assert_allclose(default_eef, sampled_eef, atol=2e-4)
    np.testing.assert_allclose(default_objects[:, :2], fixed_objects[:, :2], atol=1e-3)
