"""LIBERO without the Hub: asset set-up, LeRobot's env factory, the scripted expert and the demonstration recorder."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.libero import setup_libero

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("LIBERO_CONFIG_PATH", str(setup_libero.DEFAULT_CONFIG_PATH))
SUITE, TASK_ID, IMAGE_SIZE = "libero_object", 0, 128


def run_setup(*args: str, config_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIBERO_CONFIG_PATH": str(config_path or os.environ["LIBERO_CONFIG_PATH"])}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.libero.setup_libero", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module", autouse=True)
def libero_ready():
    """The set-up is part of what is tested: it must succeed (and be idempotent) before LIBERO is imported."""
    result = run_setup()
    assert result.returncode == 0, result.stderr


def test_setup_verifies_assets_and_writes_a_config(tmp_path):
    result = run_setup(config_path=tmp_path)
    assert result.returncode == 0, result.stderr
    config = dict(line.split(": ", 1) for line in (tmp_path / "config.yaml").read_text().splitlines())
    assert set(config) == {"benchmark_root", "bddl_files", "init_states", "datasets", "assets"}
    assets = Path(config["assets"])
    assert assets.resolve() == (setup_libero.CACHE / "assets").resolve()
    assert setup_libero.verify_assets(assets, setup_libero.read_manifest()) == []

    (tmp_path / "config.yaml").write_text("benchmark_root: /somewhere/else\n")
    refused = run_setup(config_path=tmp_path)
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert run_setup("--force", config_path=tmp_path).returncode == 0


def test_verify_assets_names_a_corrupted_file(tmp_path):
    manifest = dict(list(setup_libero.read_manifest().items())[:2])
    (good, _), (bad, _) = manifest.items()
    for rel in manifest:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((setup_libero.CACHE / "assets" / rel).read_bytes())
    (tmp_path / bad).write_bytes(b"not the upstream bytes")
    assert setup_libero.verify_assets(tmp_path, manifest) == [bad]


def test_lerobot_env_factory_builds_and_steps_libero():
    from lerobot.envs.configs import LiberoEnv
    from lerobot.envs.factory import make_env

    config = LiberoEnv(
        task=SUITE, task_ids=[TASK_ID], observation_height=IMAGE_SIZE, observation_width=IMAGE_SIZE
    )
    vec = make_env(config, n_envs=1)[SUITE][TASK_ID]
    observation, _ = vec.reset(seed=0)
    for _ in range(3):
        observation, _, _, _, info = vec.step(np.zeros((1, 7), dtype=np.float32))
    assert observation["pixels"]["image"].shape == (1, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert observation["pixels"]["image2"].shape == (1, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert observation["robot_state"]["eef"]["pos"].shape == (1, 3)
    assert not info["is_success"].any()
    vec.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from benchmarks.libero import record_demos

    root = tmp_path_factory.mktemp("libero") / "demo"
    args = ["--suite", SUITE, "--task-ids", str(TASK_ID), "--demos-per-task", "1", "--workers", "1"]
    args += [
        "--image-size",
        str(IMAGE_SIZE),
        "--root",
        str(root),
        "--report",
        str(root.parent / "report.json"),
    ]
    command = [sys.executable, "-m", record_demos.__name__, *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    staging = root.parent / ".staging" / root.name / f"task_{TASK_ID:02d}"
    return {
        "root": root,
        "log": record_demos.read_log(staging),
        "args": args,
        "report": root.parent / "report.json",
    }


def test_recorder_schema_matches_lerobot_libero(generated):
    from benchmarks.libero import libero_env
    from lerobot.datasets import LeRobotDataset
    from lerobot.envs.configs import LiberoEnv
    from lerobot.utils.constants import ACTION, OBS_STATE

    dataset = LeRobotDataset(repo_id="local/demo", root=generated["root"])
    meta = dataset.meta
    assert meta.fps == LiberoEnv().fps == 20
    assert meta.robot_type == "panda"
    assert meta.video_keys == ["observation.images.image", "observation.images.image2"]
    for key in meta.video_keys:
        assert tuple(meta.features[key]["shape"]) == (IMAGE_SIZE, IMAGE_SIZE, 3)
    assert (
        tuple(meta.features[OBS_STATE]["shape"]) == (8,)
        and meta.features[OBS_STATE]["names"] == libero_env.STATE_NAMES
    )
    assert tuple(meta.features[ACTION]["shape"]) == (7,)
    kept = [r for r in generated["log"] if r["outcome"] == "success"]
    assert meta.total_episodes == 1 and meta.total_frames == kept[0]["length"]
    actions = np.stack([dataset.hf_dataset[i][ACTION].numpy() for i in range(len(dataset))])
    assert np.abs(actions).max() <= 1.0
    frame = dataset[0]
    assert frame["task"] == "pick up the alphabet soup and place it in the basket"
    assert frame["observation.images.image"].shape == (3, IMAGE_SIZE, IMAGE_SIZE)


def test_the_suite_is_its_task_datasets_in_task_order(generated, tmp_path):
    """Each finished task becomes a dataset of its own; the suite aggregates those, and the second part's frames
    decode from the right place in the concatenated videos."""
    import shutil

    from benchmarks.libero import libero_env, record_demos
    from lerobot.datasets import LeRobotDataset

    staged = generated["root"].parent / ".staging" / generated["root"].name / f"task_{TASK_ID:02d}"
    for task_id in (3, 5):  # the same staged episode, as two tasks
        shutil.copytree(staged, tmp_path / f"task_{task_id:02d}", ignore=shutil.ignore_patterns("dataset"))
    record_demos.assemble(tmp_path / "suite", tmp_path, [5, 3], demos=1)
    assert (tmp_path / "task_03" / "dataset").is_dir() and (tmp_path / "task_05" / "dataset").is_dir()
    suite = LeRobotDataset(repo_id="local/suite", root=tmp_path / "suite")
    length = suite.meta.total_frames // 2
    kept = next(r for r in generated["log"] if r["outcome"] == "success")
    assert suite.meta.total_episodes == 2 and length == kept["length"]
    for key in libero_env.IMAGE_KEYS:
        assert (suite[length + 7][key] - suite[7][key]).abs().max() < 1e-6


def test_a_task_assembled_from_fewer_demos_is_assembled_again(generated, tmp_path):
    """A run asked for more demos than an earlier one (e.g. 10, then 50) rebuilds the task's dataset."""
    import shutil

    from benchmarks.libero import record_demos

    staged = generated["root"].parent / ".staging" / generated["root"].name / f"task_{TASK_ID:02d}"
    task_dir = tmp_path / "task"
    shutil.copytree(staged, task_dir)
    record_demos.assemble_task(task_dir, demos=1)
    info = task_dir / "dataset" / "meta" / "info.json"
    info.write_text(json.dumps(json.loads(info.read_text()) | {"total_episodes": 0}))  # as if from fewer
    record_demos.assemble_task(task_dir, demos=1)
    assert json.loads(info.read_text())["total_episodes"] == 1
    assert not (task_dir / "dataset.partial").exists()


def test_a_task_check_trains_on_that_tasks_episodes_only(generated):
    from benchmarks.libero import run_libero

    root = generated["root"]
    assert run_libero.task_episodes(root, SUITE, [TASK_ID]) == [0]
    with pytest.raises(SystemExit, match=f"LIBERO_TASKS={TASK_ID + 1}"):
        run_libero.task_episodes(root, SUITE, [TASK_ID + 1])  # recorded no demos of that task
    with pytest.raises(SystemExit, match="0-9"):
        run_libero.task_episodes(root, SUITE, [10])


def test_the_environment_state_is_where_the_objects_of_interest_are(generated):
    """Slot 0 the object to move, slot 1 where it goes, the rest zeros; the soup is carried into the basket."""
    from benchmarks.libero import libero_env
    from benchmarks.libero.scripted_expert import Scene
    from lerobot.datasets import LeRobotDataset
    from lerobot.utils.constants import OBS_ENV_STATE

    dataset = LeRobotDataset(repo_id="local/demo", root=generated["root"])
    assert dataset.meta.features[OBS_ENV_STATE]["names"] == libero_env.ENVIRONMENT_STATE_NAMES
    states = np.stack([dataset.hf_dataset[i][OBS_ENV_STATE].numpy() for i in range(len(dataset))])
    states = states.reshape(len(dataset), libero_env.ENVIRONMENT_STATE_SLOTS, 3)

    seed = next(r["seed"] for r in generated["log"] if r["outcome"] == "success")
    env, _ = libero_env.make_env(SUITE, TASK_ID, IMAGE_SIZE)
    env.reset(seed=seed)
    scene = Scene(env)
    at_start = [scene.body_pos("alphabet_soup_1"), scene.body_pos("basket_1")]
    env.close()
    np.testing.assert_allclose(states[0, :2], at_start, atol=1e-5)
    assert not states[:, 2:].any()
    soup, basket = states[:, 0], states[:, 1]
    assert soup[:, 2].max() > soup[0, 2] + 0.05  # lifted
    assert np.linalg.norm(soup[-1, :2] - basket[-1, :2]) < 0.1  # and put in the basket


def test_recorded_frame_equals_what_lerobot_eval_gives_the_policy(generated):
    """Same simulator state, two paths: the recorder's, and `lerobot-eval`'s (vector env from the factory, reset to
    that state, `preprocess_observation`, the LIBERO env processor, which rotates images by 180 degrees).

    Given the same raw observation the two paths agree bit for bit. The renders themselves differ in a handful of
    pixels: the recorder's frame comes right after `mj_step`, whose body poses predate its integration, while a
    reset to the saved state re-runs the kinematics first."""
    from benchmarks.libero import libero_env
    from lerobot.datasets import LeRobotDataset
    from lerobot.envs.configs import LiberoEnv
    from lerobot.envs.factory import make_env, make_env_pre_post_processors
    from lerobot.envs.utils import preprocess_observation
    from lerobot.utils.constants import OBS_STATE

    seed = next(r["seed"] for r in generated["log"] if r["outcome"] == "success")
    env, config = libero_env.make_env(SUITE, TASK_ID, IMAGE_SIZE)
    observation, _ = env.reset(seed=seed)
    pipeline = libero_env.EvalPipeline(config)
    recorded = pipeline(observation, env.task_description)
    state = env._env.get_sim_state()
    env.close()

    eval_config = LiberoEnv(
        task=SUITE, task_ids=[TASK_ID], observation_height=IMAGE_SIZE, observation_width=IMAGE_SIZE
    )
    vec = make_env(eval_config, n_envs=1)[SUITE][TASK_ID]
    vec.envs[0]._init_states, vec.envs[0].num_steps_wait = [state], 0  # reset straight to the recorded state
    raw, _ = vec.reset(seed=0)
    observation = preprocess_observation(raw)
    observation["task"] = list(vec.call("task_description"))
    env_preprocessor, _ = make_env_pre_post_processors(eval_config, policy_cfg=None)
    observation = env_preprocessor(observation)
    vec.close()

    unbatched = {key: value[0] for key, value in raw["pixels"].items()}
    unbatched = {
        "pixels": unbatched,
        "robot_state": {k: {kk: vv[0] for kk, vv in v.items()} for k, v in raw["robot_state"].items()},
    }
    replayed = pipeline(unbatched, eval_config.task)
    for key in libero_env.IMAGE_KEYS:
        eval_image = (observation[key][0].permute(1, 2, 0) * 255).round().byte().numpy()
        np.testing.assert_array_equal(replayed[key], eval_image)
        np.testing.assert_array_equal(eval_image, raw["pixels"][key.rsplit(".", 1)[1]][0][::-1, ::-1])
        differ = recorded[key] != eval_image
        assert (
            differ.any(axis=-1).mean() < 0.002 and np.abs(recorded[key].astype(int) - eval_image).max() <= 3
        )
    np.testing.assert_allclose(recorded[OBS_STATE], observation[OBS_STATE][0].numpy(), atol=1e-6)

    # ... and the dataset stores that frame (through the video codec, hence the tolerance).
    stored = LeRobotDataset(repo_id="local/demo", root=generated["root"])[0]
    for key in libero_env.IMAGE_KEYS:
        decoded = (stored[key].permute(1, 2, 0) * 255).round().numpy()
        assert np.abs(decoded - recorded[key].astype(float)).mean() < 4.0
    np.testing.assert_allclose(stored[OBS_STATE].numpy(), recorded[OBS_STATE], atol=1e-6)


def test_the_physics_only_check_gets_the_recorders_outcomes(generated):
    """`check_expert` switches the cameras off but must replay the recorder's attempts exactly: same starts
    (rejections included), same actions, same outcome and episode length."""
    from benchmarks.libero import check_expert

    rolled = [r for r in generated["log"] if "eval_start_distance" in r]
    result = check_expert.check_task(SUITE, TASK_ID, len(rolled), 100_000)
    assert result["attempts"] == len(rolled)
    assert result["successes"] == sum(r["outcome"] == "success" for r in rolled)
    assert result["rejected_starts"] == len(generated["log"]) - len(rolled)
    kept = [r["length"] for r in rolled if r["outcome"] == "success"]
    assert result["mean_episode_len"] == round(float(np.mean(kept)), 1)


def test_the_expert_puts_two_cans_side_by_side_into_a_basket():
    """libero_10 task 0 (the soup and the tomato sauce into the basket), second start: stacked, the cans stand
    above the basket's rim and the top one ends outside its region; side by side along the basket's longer side,
    each brought to rest over its place before it is lowered, both are in, to the plan's end."""
    assert _expert_outcome("libero_10", 0, 1) == "success"


def test_the_expert_crosses_over_a_filled_basket_to_its_second_object():
    """libero_10 task 7 (the soup, then the cream cheese into the basket), its first two starts: coming down on
    the way to the cream cheese, the open fingers dragged the basket by the soup in it (second start)."""
    from benchmarks.libero import check_expert

    result = check_expert.check_task("libero_10", 7, 2, 100_000)
    assert (result["attempts"], result["successes"]) == (2, 2), result["failures"]


def test_a_way_down_is_clear_where_it_passes_high_enough_over_each_object():
    """A 30 cm post on the straight way from 50 cm up down to 10 cm: in the middle it is in the way, near the
    start the path is still high above it, and beside the path it is no obstacle."""
    from benchmarks.libero import scripted_expert as se

    def scene_with_post_at(x: float, y: float = 0.0):
        scene = object.__new__(se.Scene)
        post = np.array([[x, y, 0.0], [x, y, 0.3]])
        scene.other_objects_points = lambda exclude: iter([post])
        return scene

    start, end = np.array([0.0, 0.0, 0.5]), np.array([1.0, 0.0, 0.1])
    assert not scene_with_post_at(0.5).path_clear(start, end, exclude="bowl")  # path at 0.30 m there
    assert scene_with_post_at(0.1).path_clear(start, end, exclude="bowl")  # path at 0.46 m there
    assert scene_with_post_at(0.5, y=0.2).path_clear(start, end, exclude="bowl")  # 20 cm to the side


def test_a_turned_regions_half_size_is_the_box_around_it():
    """A basket knocked 45 degrees about z: its 12 cm square region spans 17 cm along x and y, not 0 along one."""
    from types import SimpleNamespace

    from benchmarks.libero import scripted_expert as se

    c = np.sqrt(0.5)
    turned = np.array([[c, -c, 0.0], [c, c, 0.0], [0.0, 0.0, 1.0]])
    scene = object.__new__(se.Scene)
    scene.sim = SimpleNamespace(data=SimpleNamespace(get_site_xmat=lambda name: turned))
    scene.env = SimpleNamespace(object_sites_dict={"region": SimpleNamespace(size=[0.06, 0.06, 0.07])})
    np.testing.assert_allclose(scene.site_half_size("region"), [0.12 * c, 0.12 * c, 0.07])


def test_a_grasp_yaw_stays_within_a_quarter_turn_of_the_start():
    """Turns of successive grasps must not add up: of the two yaws that align the (symmetric) fingers with an
    axis, the expert takes the one nearest the start orientation, far from the wrist's joint limits."""
    from types import SimpleNamespace

    from benchmarks.libero import scripted_expert as se

    expert = se.Expert(SimpleNamespace(eef_mat=lambda: np.eye(3), wrist_room=lambda: (2.0, 2.0)))
    for yaw, wanted in [(2.8, 0.3), (-2.9, -1.2), (0.4, 1.5)]:
        expert.yaw = yaw
        expert.scene.finger_axis = lambda yaw=yaw: np.array([np.cos(yaw), np.sin(yaw)])  # where it points now
        new = expert.grasp_yaw(np.array([np.cos(wanted), np.sin(wanted)]))
        assert -np.pi / 2 <= new < np.pi / 2
        assert np.sin(new - wanted) == pytest.approx(0.0, abs=1e-9)  # aligned, up to the fingers' symmetry


def test_a_grasp_yaw_near_a_quarter_turn_keeps_the_side_the_wrist_is_on():
    """At a quarter turn from the start both yaws that align the fingers are as far from it: the one on the
    wrist's current side is kept instead of commanding a half turn (the arm drifted off while turning that far,
    libero_10 task 8's second moka pot), but only where the wrist's last joint has room for it: the Panda starts
    with 3.7 rad of it for +yaw and 2.1 rad for -yaw (-yaw past the quarter turn took the wrist to its limit on
    libero_10 task 4). Past the slack, the quarter-turn rule wins again."""
    from types import SimpleNamespace

    from benchmarks.libero import scripted_expert as se

    expert = se.Expert(SimpleNamespace(eef_mat=lambda: np.eye(3), wrist_room=lambda: (3.69, 2.11)))
    for yaw, wanted, kept in [
        (np.pi / 2, -np.pi / 2, np.pi / 2),
        (1.4, -1.5, np.pi - 1.5),
        (-1.4, 1.5, 1.5),  # -1.64: no room on the -yaw side
        (1.4, -1.0, -1.0),  # 2.14 would be past the slack
    ]:
        expert.yaw = yaw
        expert.scene.finger_axis = lambda yaw=yaw: np.array([np.cos(yaw), np.sin(yaw)])
        assert expert.grasp_yaw(np.array([np.cos(wanted), np.sin(wanted)])) == pytest.approx(kept)


def test_a_grasp_yaw_a_quarter_turn_from_the_start_turns_the_same_way_whatever_the_noise():
    """libero_object task 0's soup is grasped a quarter turn from the start. With the arm a few degrees off its
    default pose (LIBERO's fixed starts, `record_demos.py --robot-start-noise`) the axis falls either side of the
    quarter turn; nearest-first turned the hand -yaw in 15 of 50 demos and +yaw in the rest, a half turn apart for
    the same grasp. Within the tie, the side with the wrist's room (+yaw on the Panda) is taken every time."""
    from types import SimpleNamespace

    from benchmarks.libero import scripted_expert as se

    expert = se.Expert(SimpleNamespace(eef_mat=lambda: np.eye(3), wrist_room=lambda: (3.69, 2.11)))
    expert.scene.finger_axis = lambda: np.array([1.0, 0.0])
    for off in [-0.15, -0.05, 0.0, 0.05, 0.15]:
        wanted = np.pi / 2 + off
        assert expert.grasp_yaw(np.array([np.cos(wanted), np.sin(wanted)])) == pytest.approx(wanted)
    wanted = np.pi / 2 + 0.3  # no tie: the nearer turn, -yaw, as before
    assert expert.grasp_yaw(np.array([np.cos(wanted), np.sin(wanted)])) == pytest.approx(wanted - np.pi)


def test_an_opening_faces_away_from_inside_along_the_closed_doors_plane():
    """The microwave's layout: hinge at (-0.18, 0.265), the door open towards the robot along -y, the cavity
    behind at y = 0.36. Shut (a quarter turn about +z), the door lies along +x: the opening faces -y, its plane
    through the hinge."""
    from benchmarks.libero import scripted_expert as se

    scene = object.__new__(se.Scene)
    hinge = np.array([-0.18, 0.265, 1.0])
    scene.joint_anchor = lambda joint: hinge
    scene.joint_points = lambda joint: hinge + np.array([[0.0, 0.0, 0.0], [0.01, -0.26, 0.0]])
    scene.joint_axis = lambda joint: np.array([0.0, 0.0, 1.0])
    scene.joint_qpos = lambda joint: -np.pi / 2
    normal, plane = se._front(scene, "door", closed=0.0, inside=np.array([0.0, 0.36]))
    np.testing.assert_allclose(normal, [0.0, -1.0], atol=0.05)
    assert plane == pytest.approx(-0.265, abs=0.01)


def test_a_handle_is_a_narrow_end_of_the_long_axis_and_a_bowl_has_none():
    """The moka pot's profile: an 8 cm body with a 1.4 cm wide handle sticking out 4 cm; a bowl narrows only at
    its tip. The handle is gripped across, near its top bar."""
    from benchmarks.libero import scripted_expert as se

    angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    body = np.concatenate([np.c_[0.04 * ring, np.full(32, z)] for z in (0.90, 1.03)])
    handle = np.array(
        [[x, y, z] for x in (-0.045, -0.06, -0.075) for y in (-0.007, 0.007) for z in (1.0, 1.03)]
    )

    def shape(points):
        center = (points[:, :2].max(axis=0) + points[:, :2].min(axis=0)) / 2
        xy = points[:, :2] - center
        return se.Shape(center, np.array([1.0, 0.0]), np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 0.9, 1.03, 0.04)

    pot = np.concatenate([body, handle])
    grip, axis = se._handle(pot, shape(pot))
    assert grip[0] == pytest.approx(-0.06) and grip[1] == pytest.approx(0.0)
    assert grip[2] == pytest.approx(1.03 - 0.012)
    np.testing.assert_allclose(np.abs(axis), [0.0, 1.0], atol=1e-9)
    bowl = np.concatenate([np.c_[0.08 * ring, np.full(32, z)] for z in (0.90, 0.95)])
    assert se._handle(bowl, shape(bowl)) is None


def _expert_outcome(suite: str, task: int, attempt: int, until_plan_ends: bool = True) -> str:
    """The expert's outcome on one start of `check_expert`'s (seed 100000), by default run to its plan's end."""
    from benchmarks.libero import libero_env

    env, _ = libero_env.make_env(suite, task, image_size=128)
    env.reset(seed=100_000)
    seed = libero_env.attempt_seed(100_000, task, attempt)
    observation, _ = env.reset(seed=seed)
    _, outcome, _ = libero_env.rollout(env, observation, noise_seed=seed, until_plan_ends=until_plan_ends)
    env.close()
    return outcome


def test_the_expert_carries_moka_pots_by_the_handle_to_their_own_places_on_the_burner():
    """libero_10 task 8 (both moka pots on the stove): a pot is wider than the open fingers, so it is carried by
    its handle; two objects for one region go to the two ends of it instead of onto each other. The second
    start's second pot is grasped a quarter turn from the start orientation (see the grasp-yaw test)."""
    assert _expert_outcome("libero_10", 8, 1) == "success"


def test_the_expert_leaves_a_stove_that_starts_on_alone():
    """libero_10 task 8's goal also asks for the stove on, and LIBERO starts its knob anywhere in the "on" range.
    On the 13th start the knob's bar lies along the open fingers, which came down on its ends and stalled: the
    expert turned a knob that needed no turning (13/30 starts succeeded; 30/30 leaving it alone)."""
    assert _expert_outcome("libero_10", 8, 12) == "success"


def test_the_expert_lowers_a_bowl_into_a_bottom_drawer_clear_of_the_drawer_above():
    """libero_10 task 3 (the bowl into the open bottom drawer, then shut it), third start: the middle drawer's
    front hangs over the back of the bottom drawer's region; lowered onto the region's middle, the bowl landed
    on its edge, tilted, and jammed the drawer. It is lowered far enough out to clear that front."""
    assert _expert_outcome("libero_10", 3, 2) == "success"


def test_the_expert_puts_a_mug_into_a_microwave_through_its_door_and_shuts_it():
    """libero_10 task 9: the cavity is roofed 3 cm over the mug, so the mug is carried by its handle with the hand
    kept in front of the opening, let go half way in, pushed in by the level fingers past the door's plane, and
    the door swung shut. Lowered from above it was set on the microwave's roof."""
    assert _expert_outcome("libero_10", 9, 0) == "success"


def test_the_expert_lifts_a_plate_that_pivots_on_its_far_rim():
    """libero_goal task 5, sixth start: pinched by its rim, the plate first pivots on its far edge, its centre
    rising 2.8 cm while the hand rises 6.7 cm; it is held, not given up as dropped, and carried onto the region
    (LIBERO's success). Set down, it still lands 1.7 cm outside it: to the plan's end this start fails."""
    assert _expert_outcome("libero_goal", 5, 5, until_plan_ends=False) == "success"


def test_the_expert_pinches_a_plate_by_its_low_rim():
    """libero_goal task 5 (the plate to the front of the stove): the plate is 2 cm tall, so its rim is pinched
    just above the table instead of 2 cm under its top, where the fingers met the table."""
    from benchmarks.libero import check_expert

    result = check_expert.check_task("libero_goal", 5, 1, 100_000)
    assert (result["attempts"], result["successes"]) == (1, 1), result["failures"]


def test_the_expert_sets_a_plate_hanging_from_its_rim_down_where_it_lands_flat():
    """libero_goal task 5, fourth start: pinched by its rim, the plate hangs 70 degrees from flat; let go over
    the region it fell flat about its low edge, 4-5 cm past it. The expert aims where it will land, reading how
    it hangs once it is off the table (16/30 starts succeeded before, 30/30 after)."""
    assert _expert_outcome("libero_goal", 5, 3) == "success"


def test_the_expert_opens_a_drawer_under_another_drawers_handle():
    """libero_goal task 0 (open the middle drawer): the top drawer's handle hangs 6 cm over the middle one's, so
    the handle is pinched from the front with the gripper tipped level; from above, the hand met the top drawer."""
    from benchmarks.libero import check_expert

    result = check_expert.check_task("libero_goal", 0, 1, 100_000)
    assert (result["attempts"], result["successes"]) == (1, 1), result["failures"]


def test_the_expert_moves_an_object_from_under_a_drawer_before_opening_it():
    """libero_goal task 3 (open the top drawer and put the bowl inside): the opened drawer would hang over the bowl
    and leave no room to grasp its rim, so the bowl is first set down clear of the drawer's sweep, drawer shut."""
    from benchmarks.libero import libero_env, scripted_expert as se

    env, _ = libero_env.make_env("libero_goal", 3, image_size=128)
    env.reset(seed=libero_env.attempt_seed(100_000, 3, 0))
    libero_env.set_cameras(env, False)
    expert = se.Expert(se.Scene(env))
    scene, joint = expert.scene, "wooden_cabinet_1_top_level"
    sweep = se._swept_box(scene, joint, -0.15)  # the drawer's default open position
    assert se._overlaps(scene.points("akita_black_bowl_1"), sweep, margin=0.0)

    first_skill = next(se.plan(expert, scene.env.parsed_problem["goal_state"]))
    for action in first_skill():
        env._env.step(action)
    assert not se._overlaps(scene.points("akita_black_bowl_1"), sweep, margin=se.HAND_REACH)
    assert scene.joint_qpos(joint) == pytest.approx(0.0, abs=0.005)
    env.close()


def test_the_expert_pushes_a_low_drawer_shut_with_a_wine_rack_in_front_of_it():
    """libero_10 task 3 (the bowl into the bottom drawer, then shut it): the gripper is tipped half way, not level,
    to push the drawer's face; level, its wrist reached 19 cm behind the fingers and came down on the wine rack.
    The push aims 1 cm past the shut position and ends when the drawer stops the hand, so the plan goes on to back
    off: aimed there until it got within 1 cm, the hand pressed on the shut drawer until the move gave up."""
    from benchmarks.libero import check_expert

    result = check_expert.check_task("libero_10", 3, 1, 100_000, until_plan_ends=True)
    assert (result["attempts"], result["successes"]) == (1, 1), result["failures"]


def test_the_expert_stands_a_book_lengthwise_in_the_caddys_slot():
    """libero_10 task 5 (the book into the caddy's back compartment, a slot 6 cm wide): the book is held across
    the slot, so it is turned lengthwise and centred by its footprint (its body origin lies 1.4 cm off its middle)
    before it is lowered. Lowered as it was held, it caught on the slot's wall, swung out of the fingers and fell
    out of the caddy; LIBERO counted a success only while it swung. It now ends upright in the slot. LIBERO's
    box for the slot starts 3 mm above where the book's origin rests on the slot's floor, so the goal is only met
    while the book is lowered: asked to record to the plan's end, the recorder and the check record this task to
    its first success, and say so."""
    from benchmarks.libero import check_expert, libero_env, scripted_expert as se

    env, _ = libero_env.make_env("libero_10", 5, image_size=128)
    env.reset(seed=100_000)
    seed = libero_env.attempt_seed(100_000, 5, 0)
    observation, _ = env.reset(seed=seed)
    _, outcome, _ = libero_env.rollout(env, observation, noise_seed=seed, until_plan_ends=True)
    scene = se.Scene(env)
    book, slot = scene.shape("black_book_1"), "desk_caddy_1_back_contain_region"
    inside = (
        np.abs(scene.body_pos("black_book_1")[:2] - scene.site_pos(slot)[:2])
        <= scene.site_half_size(slot)[:2]
    )
    env.close()
    assert outcome == "plan finished without reaching the goal"
    assert inside.all()
    assert book.top - book.bottom > 0.12  # standing, as it started (13.4 cm tall)

    result = check_expert.check_task("libero_10", 5, 1, 100_000, until_plan_ends=True)
    assert (result["attempts"], result["successes"]) == (1, 1), result["failures"]
    assert "the book is being lowered" in result["judged_at_first_success"]


def test_the_expert_swings_a_microwave_door_shut_about_its_hinge():
    """libero_10 task 9 starts with the microwave open: its door (26 cm wide, hinged about a vertical axis) is
    swung shut by pushing its outer face, not turned like a knob; LIBERO counts it shut within 0.005 rad."""
    from benchmarks.libero import libero_env, scripted_expert as se

    env, _ = libero_env.make_env("libero_10", 9, image_size=128)
    env.reset(seed=libero_env.attempt_seed(100_000, 9, 0))
    libero_env.set_cameras(env, False)
    expert = se.Expert(se.Scene(env))
    microwave = expert.scene.env.object_states_dict["microwave_1"]
    assert microwave.is_open()
    (actuate,) = se._actuate(expert, "microwave_1", "default_close_ranges")
    for action in actuate():
        env._env.step(action)
    assert microwave.is_close()
    env.close()


def test_generation_resumes_without_redoing_attempts(generated):
    from benchmarks.libero import libero_env, record_demos

    staging = generated["root"].parent / ".staging" / generated["root"].name / f"task_{TASK_ID:02d}"
    before = record_demos.read_log(staging)
    result = subprocess.run(
        [sys.executable, "-m", record_demos.__name__, *generated["args"]],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert record_demos.read_log(staging) == before
    report = json.loads(generated["report"].read_text())
    task = report["suites"][SUITE]["pick up the alphabet soup and place it in the basket"]
    assert task["demos_kept"] == 1 and task["attempts"] >= 1
    assert 0.0 < task["expert_success_rate"] <= 1.0
    assert all(
        r["eval_start_distance"] >= libero_env.INIT_STATE_TOLERANCE
        for r in generated["log"]
        if "eval_start_distance" in r
    )

    other_size = [a if a != str(IMAGE_SIZE) else "64" for a in generated["args"]]
    for other in (other_size, [*generated["args"], "--robot-start-noise", "0.02"]):
        refused = subprocess.run(
            [sys.executable, "-m", record_demos.__name__, *other], capture_output=True, text=True, cwd=REPO
        )
        assert refused.returncode != 0 and "use another --root" in refused.stderr
    assert {r.get("robot_start_noise") for r in generated["log"] if "eval_start_distance" in r} == {0.0}


def test_the_arm_starts_where_noise_puts_it_and_stays_there():
    """`--robot-start-noise`: after a sampled start, every arm joint is moved off robosuite's default pose by the
    seeded noise, the objects stay where the sampler put them, and the controller holds the new pose."""
    from benchmarks.libero import libero_env
    from lerobot.envs.libero import get_libero_dummy_action

    env, _ = libero_env.make_env(SUITE, TASK_ID, IMAGE_SIZE)
    env.reset(seed=100_000)
    objects = libero_env.object_positions(env)
    robot = libero_env.Scene(env).env.robots[0]
    observation = libero_env.place_arm(env, 0.02, np.random.default_rng(0))
    offsets = robot._joint_positions - np.asarray(robot.init_qpos)
    assert np.abs(offsets).min() > 1e-4 and np.abs(offsets).max() < 0.1
    eef = observation["robot_state"]["eef"]["pos"].copy()
    for _ in range(10):
        held, _, _, _, _ = env.step(np.asarray(get_libero_dummy_action()))
    assert np.abs(held["robot_state"]["eef"]["pos"] - eef).max() < 1e-3
    np.testing.assert_allclose(libero_env.object_positions(env)[:, :2], objects[:, :2], atol=1e-3)
    again = libero_env.place_arm(env, 0.02, np.random.default_rng(0))
    np.testing.assert_allclose(
        again["robot_state"]["eef"]["pos"], eef, atol=1e-3
    )  # the seed decides the pose
    env.close()


def test_starts_outside_the_evaluation_layouts_are_rejected():
    from benchmarks.libero import libero_env

    eval_starts = np.zeros((50, 2, 3))
    eval_starts[:, 0, :2] = np.linspace(0.0, 0.02, 50)[:, None]  # object 0 varies by 2 cm, object 1 is fixed
    inside = np.array([[0.04, 0.04, 0.0], [0.02, -0.02, 0.0]])
    assert not libero_env.outside_eval_layout(eval_starts, inside)
    assert libero_env.outside_eval_layout(eval_starts, inside + [[0.02, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert libero_env.outside_eval_layout(eval_starts, inside - [[0.0, 0.0, 0.0], [0.0, 0.02, 0.0]])


def test_an_evaluation_start_is_recognized_after_its_objects_settle():
    from benchmarks.libero import libero_env

    eval_starts = np.zeros((50, 2, 3))
    eval_starts[:, :, :2] = np.linspace(0.0, 0.49, 50)[:, None, None]  # 1 cm apart
    eval_starts[..., 2] = 0.97  # LIBERO stores starts with objects held above the table
    settled = eval_starts[7] - [0.0, 0.0, 0.07]
    assert libero_env.eval_start_distance(eval_starts, settled) == 0.0
    moved = settled + [[0.0, 0.0, 0.0], [0.0, 0.02, 0.0]]
    assert libero_env.eval_start_distance(eval_starts, moved) == pytest.approx(0.01)  # 1 cm nearer start 8


def test_a_second_run_on_the_same_staging_is_refused(generated):
    import fcntl

    from benchmarks.libero import record_demos

    staging = generated["root"].parent / ".staging" / generated["root"].name
    with (staging / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running generator holds it
        result = subprocess.run(
            [sys.executable, "-m", record_demos.__name__, *generated["args"]],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    assert result.returncode != 0 and "another run is writing" in result.stderr


def test_noisy_demos_cannot_join_a_staging_recorded_without_noise(generated):
    from benchmarks.libero import record_demos

    result = subprocess.run(
        [sys.executable, "-m", record_demos.__name__, *generated["args"], "--action-noise", "0.2"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode != 0 and "'action_noise': 0.0" in result.stderr


def test_a_staging_made_by_another_expert_is_refused(generated, tmp_path):
    """Resuming after the expert's code changed would mix two experts' attempts in one dataset."""
    from benchmarks.libero import record_demos

    root = tmp_path / "demo"
    shutil.copytree(
        generated["root"].parent / ".staging" / generated["root"].name, tmp_path / ".staging" / "demo"
    )
    settings_path = tmp_path / ".staging" / "demo" / "settings.json"
    assert json.loads(settings_path.read_text())["expert_sha256"] == record_demos.expert_digest()
    settings_path.write_text(json.dumps(json.loads(settings_path.read_text()) | {"expert_sha256": "0" * 16}))
    args = [a if a != str(generated["root"]) else str(root) for a in generated["args"]]
    result = subprocess.run(
        [sys.executable, "-m", record_demos.__name__, *args], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode != 0 and "another version of scripted_expert.py" in result.stderr
    assert not root.exists()


def test_perturbed_actions_keep_the_gripper_and_the_action_range():
    from benchmarks.libero.libero_env import perturb

    action = np.array([0.95, -0.95, 0.0, 0.1, -0.1, 0.0, 1.0], dtype=np.float32)
    noisy = perturb(action, 0.5, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy[3:], action[3:])  # rotation and gripper as the expert commands them
    assert np.all(np.abs(noisy) <= 1.0) and not np.allclose(noisy[:3], action[:3])
    assert perturb(action, 0.0, np.random.default_rng(0)) is action
    np.testing.assert_array_equal(noisy, perturb(action, 0.5, np.random.default_rng(0)))


def test_a_noisy_demo_records_the_experts_actions_and_the_states_the_noise_led_to(monkeypatch):
    """DART: the env executes perturbed actions; the episode pairs what was observed after them with the
    expert's own (clean) actions."""
    from types import SimpleNamespace

    from benchmarks.libero import libero_env
    from lerobot.utils.constants import ACTION, OBS_STATE

    clean = [np.array([0.1 * i, 0.0, -0.1, 0.0, 0.0, 0.05, -1.0], dtype=np.float32) for i in range(5)]
    scene = SimpleNamespace(env=SimpleNamespace(parsed_problem={"goal_state": []}))
    monkeypatch.setattr(libero_env, "Expert", lambda _: SimpleNamespace(scene=scene))
    monkeypatch.setattr(libero_env, "Scene", lambda env: scene)
    monkeypatch.setattr(libero_env, "run_expert", lambda expert, goal: iter(clean))
    monkeypatch.setattr(libero_env, "environment_state", lambda _: np.zeros(12, np.float32))

    class Env:  # the observed state is the sum of the executed actions
        task_description, _max_episode_steps = "task", 100

        def __init__(self):
            self.executed = []

        def step(self, action):
            self.executed.append(action)
            state = np.sum(self.executed, axis=0)
            return {"state": state}, 0.0, False, False, {"is_success": len(self.executed) == len(clean)}

    def pipeline(observation, task):
        return {OBS_STATE: observation.get("state", np.zeros(7, np.float32))}

    env = Env()
    episode, outcome, steps = libero_env.rollout(env, {}, pipeline, action_noise=0.2, noise_seed=7)
    executed = np.stack(env.executed)
    assert outcome == "success" and steps == len(clean)
    np.testing.assert_array_equal(episode[ACTION], np.stack(clean))
    assert not np.allclose(executed[:, :3], episode[ACTION][:, :3])
    np.testing.assert_array_equal(executed[:, 3:], episode[ACTION][:, 3:])
    np.testing.assert_allclose(episode[OBS_STATE][1:], np.cumsum(executed, axis=0)[:-1], rtol=1e-6)


@pytest.mark.parametrize(
    ("goal_holds", "until_plan_ends", "outcome", "length"),
    [
        ([False, False, True, True, True, True], False, "success", 3),  # ends while the object is still held
        ([False, False, True, True, True, True], True, "success", 6),  # the release and retreat recorded too
        ([False, False, True, True, False, False], True, "plan finished without reaching the goal", 6),
    ],
)
def test_an_episode_ends_at_the_goal_or_with_the_experts_plan(
    monkeypatch, goal_holds, until_plan_ends, outcome, length
):
    """By default an attempt stops at the first step that meets the goal; recorded to the plan's end, it keeps
    every step the expert takes and succeeds only if the goal still holds when the plan is done."""
    from types import SimpleNamespace

    from benchmarks.libero import libero_env
    from lerobot.utils.constants import ACTION

    plan = [np.full(7, i, dtype=np.float32) for i in range(len(goal_holds))]
    scene = SimpleNamespace(env=SimpleNamespace(parsed_problem={"goal_state": []}))
    monkeypatch.setattr(libero_env, "Expert", lambda _: SimpleNamespace(scene=scene))
    monkeypatch.setattr(libero_env, "Scene", lambda env: scene)
    monkeypatch.setattr(libero_env, "run_expert", lambda expert, goal: iter(plan))
    monkeypatch.setattr(libero_env, "environment_state", lambda _: np.zeros(12, np.float32))

    class Env:
        task_description, _max_episode_steps, steps = "task", 100, 0

        def step(self, action):
            self.steps += 1
            return {}, 0.0, False, False, {"is_success": goal_holds[self.steps - 1]}

    env = Env()
    episode, result, steps = libero_env.rollout(
        env, {}, lambda observation, task: {}, until_plan_ends=until_plan_ends
    )
    assert (result, steps, env.steps) == (outcome, length, length)
    if outcome == "success":
        np.testing.assert_array_equal(episode[ACTION], np.stack(plan[:length]))
    else:
        assert episode is None


@pytest.mark.parametrize("shards", [2, 3])
def test_a_task_split_across_workers_keeps_the_demos_one_worker_would(shards):
    """Worker k takes attempts k, k + shards, ... and the shards finish in whatever order they happen to; the task
    still keeps the first successes in attempt order, with every attempt before the last kept one done. Shards
    running at the same speed overrun the last kept attempt by at most one attempt each."""
    from benchmarks.libero import record_demos

    outcomes = ["success" if x < 0.6 else "timeout" for x in np.random.default_rng(0).random(200)]
    demos, max_attempts = 10, 200

    def run(shards: int, seed: int | None) -> list[dict]:
        """One attempt at a time, by a shard drawn at random (seed) or in turn (None)."""
        log, order, turn = [], np.random.default_rng(seed), 0
        active = list(range(shards))
        while active:
            shard = int(order.choice(active)) if seed is not None else active[turn % len(active)]
            turn += 1
            attempt = record_demos.next_attempt(log, shard, shards, demos, max_attempts)
            if attempt is None:
                active.remove(shard)
            else:
                log = sorted(
                    log + [{"attempt": attempt, "outcome": outcomes[attempt]}], key=lambda r: r["attempt"]
                )
        return log

    alone = run(1, seed=None)
    kept = [r["attempt"] for r in record_demos.kept_records(alone, demos)]
    assert len(kept) == demos and [r["attempt"] for r in alone] == list(range(kept[-1] + 1))
    for seed in [None, *range(5)]:
        log = run(shards, seed)
        assert [r["attempt"] for r in record_demos.kept_records(log, demos)] == kept
        assert {r["attempt"] for r in log} >= set(range(kept[-1] + 1))
    assert len(run(shards, seed=None)) < len(alone) + shards


def _stage_task(task_dir: Path, outcomes: list[str], workers: int = 2) -> None:
    """An attempt log as `run_task` writes it, with a kept episode folder per success."""
    task_dir.mkdir(parents=True)
    lines = []
    for attempt, outcome in enumerate(outcomes):
        record = {"attempt": attempt, "seed": attempt, "outcome": outcome, "wall_s": 30.0, "workers": workers}
        record["generator_commit"] = "abc"
        record["hardware"] = "AMD EPYC" if attempt else "Intel Xeon"  # resumed on another machine
        if not outcome.startswith("rejected"):
            record["eval_start_distance"] = 0.01
        if outcome == "success":
            record["length"] = 100 + attempt
            (task_dir / f"episode_{attempt:04d}").mkdir()
            (task_dir / f"episode_{attempt:04d}" / "video.mp4").write_bytes(b"x" * 1000)
        lines.append(json.dumps(record) + "\n")
    (task_dir / "attempts.jsonl").write_text("".join(lines))


def test_an_expert_check_of_some_tasks_replaces_only_theirs():
    """`check_expert --task-ids 5` after an expert change: the other tasks' results stay with the commit that made
    them, the totals cover every task; results made with other settings are replaced, not mixed in."""
    from benchmarks.libero.check_expert import merged_suite

    settings = {"seed": 100_000, "attempts_per_task": 10, "action_noise": 0.0, "until_plan_ends": False}

    def result(successes: int) -> dict:
        return {"attempts": 10, "successes": successes, "expert_success_rate": successes / 10}

    old_made = {"git_commit": "aaa", "hardware": "Intel"}
    previous = {  # as written before tasks carried their own provenance
        **settings,
        **old_made,
        "tasks": {"soup": result(10), "book": result(3)},
    }
    new_made = {"git_commit": "bbb", "hardware": "AMD"}
    suite = merged_suite(previous, settings, {"book": {**result(9), **new_made}})
    assert suite["tasks"]["soup"] == {**result(10), **old_made}
    assert suite["tasks"]["book"] == {**result(9), **new_made}
    assert (suite["expert_success_rate"], suite["tasks_checked"], suite["tasks_at_or_above_80_percent"]) == (
        0.95,
        2,
        2,
    )
    assert (suite["git_commits"], suite["hardware"]) == (["aaa", "bbb"], ["AMD", "Intel"])

    at_plans_end = {**settings, "until_plan_ends": True}
    replaced = merged_suite(suite, at_plans_end, {"book": {**result(0), **new_made}})
    assert list(replaced["tasks"]) == ["book"]
    assert replaced["until_plan_ends"] and replaced["expert_success_rate"] == 0.0


def test_report_merges_tasks_as_they_finish_and_totals_a_complete_suite(tmp_path):
    """A suite can be generated in parts (`--task-ids`, other runs): each task's numbers come from its staged log,
    and the suite's totals appear once every task is in."""
    from benchmarks.libero import record_demos

    _stage_task(tmp_path / "task_00", ["success", "rejected start: an eval start", "timeout", "success"])
    _stage_task(tmp_path / "task_01", ["success", "success", "success"])
    first = record_demos.task_summary(tmp_path / "task_00", demos=2)
    assert first["attempts"] == 3 and first["successes"] == 2 and first["expert_success_rate"] == 0.6667
    assert first["demos_kept"] == 2 and first["mean_episode_len"] == 101.5
    assert first["rejected_starts"] == {"an eval start": 1} and first["failures"] == {"timeout": 1}
    assert first["worker_s_per_demo"] == 60.0 and first["demo_bytes"] == 2000 and first["workers"] == [2]
    assert first["hardware"] == ["AMD EPYC", "Intel Xeon"]
    (tmp_path / "task_00" / "episode_0002.partial").mkdir()  # left by a stopped run
    assert record_demos.kept_episodes(tmp_path / "task_00", demos=2) == [
        tmp_path / "task_00" / "episode_0000",
        tmp_path / "task_00" / "episode_0003",
    ]
    second = record_demos.task_summary(tmp_path / "task_01", demos=2)
    assert second["demos_kept"] == 2 and second["demo_bytes"] == 2000  # the third success is not kept

    report = tmp_path / "report.json"
    record_demos.update_report(report, "libero_object", {"task a": first}, seed=7, n_tasks=2)
    assert "totals" not in json.loads(report.read_text())
    record_demos.update_report(report, "libero_object", {"task b": second}, seed=7, n_tasks=2)
    written = json.loads(report.read_text())
    assert set(written["suites"]["libero_object"]) == {"task a", "task b"}
    totals = written["totals"]["libero_object"]
    assert totals["attempts"] == 6 and totals["successes"] == 5 and totals["demos_kept"] == 4
    assert totals["worker_s_per_demo"] == 52.5  # 7 attempts x 30 s for 4 kept demos
    assert totals["demos_per_hour"] == pytest.approx(2 * 3600 / 52.5, abs=0.1)
    with pytest.raises(SystemExit, match="seed 7"):
        record_demos.update_report(report, "libero_object", {"task b": second}, seed=8, n_tasks=2)


def test_the_expert_sets_a_bowl_aside_opens_the_top_drawer_and_puts_it_in_within_the_suite_steps():
    """libero_goal task 3, seventh start: the top drawer opens over the bowl, so the bowl is set aside, the drawer
    pulled, the bowl picked again and put in, in the suite's 300 steps. It is carried to a spot that needs no lift
    over the wine bottle, dropped from 2 cm, and its second grasp turns the wrist in place before approaching (on
    the way, the 1.4 rad turn drove the hand off and the approach did not converge)."""
    assert _expert_outcome("libero_goal", 3, 6, until_plan_ends=False) == "success"
