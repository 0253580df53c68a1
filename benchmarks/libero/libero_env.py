"""LIBERO as `lerobot-eval` runs it, for the scripted expert's tools (`record_demos.py`, `check_expert.py`):
the env built from sampled (not fixed) starts, the observation pipeline `lerobot-eval` puts between the env and
a policy, the rules that keep demonstration starts away from the evaluation starts, the privileged state the
cameras show, and one expert attempt."""

from __future__ import annotations

import numpy as np

from benchmarks.libero.scripted_expert import Expert, Scene, SkillFailedError, run_expert
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

IMAGE_KEYS = (f"{OBS_IMAGES}.image", f"{OBS_IMAGES}.image2")
STATE_NAMES = ["eef_x", "eef_y", "eef_z", "eef_axis_angle_x", "eef_axis_angle_y", "eef_axis_angle_z"]
STATE_NAMES += ["gripper_qpos_left", "gripper_qpos_right"]
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
ENVIRONMENT_STATE_SLOTS = (
    4  # the most objects of interest any task of the four suites names (libero_10 task 4)
)
ENVIRONMENT_STATE_NAMES = [f"object{i}_{axis}" for i in range(ENVIRONMENT_STATE_SLOTS) for axis in "xyz"]
DEMOS_PER_TASK = 50  # the recorder's default, as many as each task of lerobot/libero has
SEED_STRIDE = 100_000  # attempts of a task never share a seed with another task's (`attempt_seed`)
# m; a start whose objects are all this close (xy) to one evaluation start counts as that start. LIBERO's samplers
# jitter objects by 0-3 cm (libero_object) and its 50 evaluation starts per task lie 2-8 mm from one another.
INIT_STATE_TOLERANCE = 0.001
LAYOUT_MARGIN = 0.03  # m; starts keep every object within the evaluation starts' xy range widened by this
# rad; LIBERO's fixed evaluation starts hold each arm joint off robosuite's default pose by N(0, 0.02^2) (robosuite's
# default `initialization_noise`; measured over the 2000 starts of the four suites: std 0.018-0.022 per joint), while
# a start its placement samplers draw leaves the arm exactly at the default pose.
FIXED_START_JOINT_NOISE = 0.02

# Tasks recorded to their first success even when asked for `until_plan_ends`, and why: the expert cannot leave
# their goal holding at the end of its plan.
GOAL_HOLDS_ONLY_BEFORE_PLAN_ENDS = {
    ("libero_10", 5): (
        "LIBERO's box for the caddy's back slot starts 3 mm above where the book's origin rests on the slot's "
        "floor: the goal holds only while the book is being lowered"
    ),
}


def attempt_seed(seed: int, task_id: int, attempt: int) -> int:
    """The seed of a task's attempt: a function of (task, attempt) only. The start it gives is too on tasks without
    articulated objects; on tasks with them LIBERO also draws one number per earlier reset of the same env (its
    `object_property_initializers` grow with every hard reset), so there the start also depends on how many
    attempts the env ran before (README, the expert on all four suites)."""
    return seed + task_id * SEED_STRIDE + attempt


class EvalPipeline:
    """The observation path of `lerobot-eval` for one LIBERO env, down to what the policy preprocessor gets."""

    def __init__(self, env_config):
        from lerobot.envs.factory import make_env_pre_post_processors

        self.env_preprocessor, _ = make_env_pre_post_processors(env_config, policy_cfg=None)

    def __call__(self, observation: dict, task: str) -> dict[str, np.ndarray]:
        """Batch one env's observation as a vector env would, run the eval transforms, unbatch to uint8/float32."""
        from lerobot.envs.utils import preprocess_observation

        batched = _map_leaves(observation, lambda x: np.asarray(x)[None])
        processed = preprocess_observation(batched)
        processed["task"] = [task]
        processed = self.env_preprocessor(processed)
        frame = {key: (processed[key][0].permute(1, 2, 0) * 255).round().byte().numpy() for key in IMAGE_KEYS}
        frame[OBS_STATE] = processed[OBS_STATE][0].numpy().astype(np.float32)
        return frame


def _map_leaves(tree, fn):
    return {k: _map_leaves(v, fn) for k, v in tree.items()} if isinstance(tree, dict) else fn(tree)


def make_env(suite_name: str, task_id: int, image_size: int):
    """LeRobot's `LiberoEnv` as `lerobot-eval` builds it, but starting from sampled (not fixed) states."""
    from lerobot.envs.configs import LiberoEnv as LiberoEnvConfig
    from lerobot.envs.libero import LiberoEnv, _get_suite

    config = LiberoEnvConfig(task=suite_name, observation_height=image_size, observation_width=image_size)
    env = LiberoEnv(
        _get_suite(suite_name),
        task_id,
        suite_name,
        camera_name=config.camera_name,
        obs_type=config.obs_type,
        observation_height=image_size,
        observation_width=image_size,
        init_states=False,
        control_mode=config.control_mode,
    )
    return env, config


def eval_start_positions(env, suite_name: str, task_id: int) -> np.ndarray:
    """Object positions (n_init_states, n_objects, 3) of the fixed starts `lerobot-eval` uses for this task."""
    from lerobot.envs.libero import _get_suite, get_task_init_states

    states = get_task_init_states(_get_suite(suite_name), task_id)
    scene = Scene(env)
    names = list(scene.env.objects_dict)
    positions = []
    for state in states:
        scene.env.sim.set_state_from_flattened(state)
        scene.env.sim.forward()
        positions.append([scene.body_pos(name) for name in names])
    return np.asarray(positions)


def eval_start_distance(eval_starts: np.ndarray, positions: np.ndarray) -> float:
    """How far (m) a start is from the nearest evaluation start: the largest xy offset of any object. Heights are
    left out because LIBERO's stored starts hold objects above the table, before they settle."""
    return float(np.abs(eval_starts[..., :2] - positions[:, :2]).max(axis=(1, 2)).min())


def outside_eval_layout(eval_starts: np.ndarray, positions: np.ndarray) -> bool:
    """LIBERO's samplers sometimes put an object far from where every evaluation start has it (e.g. off camera);
    such starts would teach layouts the benchmark never shows, so they are skipped."""
    low = eval_starts[..., :2].min(axis=0) - LAYOUT_MARGIN
    high = eval_starts[..., :2].max(axis=0) + LAYOUT_MARGIN
    return bool(((positions[:, :2] < low) | (positions[:, :2] > high)).any())


def place_arm(env, joint_noise: float = 0.0, rng: np.random.Generator | None = None) -> dict:
    """Put the arm of a reset LeRobot `LiberoEnv` at robosuite's default joint pose, each joint moved by Gaussian
    noise of std `joint_noise` rad (drawn from `rng`), the objects left where they are; returns the env's
    observation after one no-op step."""
    from lerobot.envs.libero import get_libero_dummy_action

    inner = Scene(env).env
    for robot in inner.robots:
        robot.reset(deterministic=True)  # the joints at `init_qpos`
        if joint_noise:
            noise = rng.normal(0.0, joint_noise, len(robot.init_qpos))
            inner.sim.data.qpos[robot._ref_joint_pos_indexes] += noise
        # The controller caches the arm's pose from before the move: refresh it (this runs the kinematics) and hold.
        robot.controller.update(force=True)
        robot.controller.reset_goal()
    raw_observation, _, _, _ = env._env.step(get_libero_dummy_action())
    return env._format_raw_obs(raw_observation)


def environment_state(scene: Scene) -> np.ndarray:
    """The positions of the task's objects of interest (bodies, or regions by their site) in the BDDL's order,
    zero-padded to `ENVIRONMENT_STATE_SLOTS` x 3."""
    names = scene.env.parsed_problem["obj_of_interest"]
    if len(names) > ENVIRONMENT_STATE_SLOTS:
        raise ValueError(f"{names}: more objects of interest than ENVIRONMENT_STATE_SLOTS")
    state = np.zeros((ENVIRONMENT_STATE_SLOTS, 3), dtype=np.float32)
    for i, name in enumerate(names):
        state[i] = scene.body_pos(name) if name in scene.env.obj_body_id else scene.site_pos(name)
    return state.reshape(-1)


def object_positions(env) -> np.ndarray:
    scene = Scene(env)
    return np.asarray([scene.body_pos(name) for name in scene.env.objects_dict])


def set_cameras(env, enabled: bool) -> None:
    """Switch LIBERO's camera observables on or off; off, a step is physics only (rendering is ~90% of its cost)."""
    env._ensure_env()
    inner = env._env.env
    for name in [n for n in inner._observables if n.endswith("_image")]:
        inner.modify_observable(name, "enabled", enabled)


def perturb(action: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """The action executed when demonstrating with noise (DART, Laskey et al. 2017): the expert's position
    command plus Gaussian noise of standard deviation `scale` (in action units, 0.05 m) on each axis, clipped to
    the action range. Rotation and gripper are left alone: the expert's moves wait for the orientation to settle
    within 0.05 rad, which rotation noise of that size never lets happen. The expert reads the state every step,
    so the recorded episode shows it pulling back from the small errors a policy makes, labelled with its own
    clean actions."""
    if not scale:
        return action
    noisy = action.copy()
    noisy[:3] = np.clip(noisy[:3] + rng.normal(0.0, scale, 3), -1.0, 1.0)
    return noisy


def to_plan_end(suite_name: str, task_id: int, until_plan_ends: bool) -> bool:
    """Whether an attempt asked to go on `until_plan_ends` does (not on GOAL_HOLDS_ONLY_BEFORE_PLAN_ENDS)."""
    return until_plan_ends and (suite_name, task_id) not in GOAL_HOLDS_ONLY_BEFORE_PLAN_ENDS


def rollout(
    env,
    observation: dict,
    pipeline: EvalPipeline | None = None,
    action_noise: float = 0.0,
    noise_seed: int | None = None,
    until_plan_ends: bool = False,
) -> tuple[dict[str, np.ndarray] | None, str, int]:
    """One expert attempt from the start the env was just reset to (`observation`): the recorded episode (None
    if failed or not recording), the outcome and the number of steps. Without a `pipeline` nothing is rendered
    or recorded; the physics, and so the actions and the outcome, are the same. (A LIBERO reset rebuilds the
    simulation and its render context, seconds here: the caller's reset is the only one.) With `action_noise`,
    the env executes `perturb`ed actions (seeded by `noise_seed`) and the episode records the expert's own.

    An attempt ends at the first step that meets the goal, which for a pick-and-place is while the object, still
    held, is being lowered into place. With `until_plan_ends`, it goes on to the end of the expert's plan (the
    release and the retreat) and succeeds if the goal still holds then, so the demonstrations show what to do when
    the lowering alone does not meet the goal: let go."""
    expert = Expert(Scene(env))
    rng = np.random.default_rng(noise_seed)
    frames: list[dict] = []
    steps, success = 0, False
    if pipeline is None:
        set_cameras(env, False)
    try:
        for action in run_expert(expert, expert.scene.env.parsed_problem["goal_state"]):
            executed = perturb(action, action_noise, rng)
            if pipeline is not None:
                frames.append(
                    {
                        **pipeline(observation, env.task_description),
                        OBS_ENV_STATE: environment_state(expert.scene),
                        ACTION: action,
                    }
                )
                observation, _, _, _, info = env.step(executed)
                success = info["is_success"]
            else:
                env._env.step(executed)
                success = env._env.check_success()
            steps += 1
            if (success and not until_plan_ends) or steps >= env._max_episode_steps:
                break
    except SkillFailedError as error:
        return None, f"skill failed: {error}", steps
    finally:
        if pipeline is None:
            set_cameras(env, True)  # the next reset's observation needs them
    if success:
        episode = {key: np.stack([f[key] for f in frames]) for key in frames[0]} if frames else None
        return episode, "success", steps
    if steps >= env._max_episode_steps:
        return None, "timeout", steps
    return None, "plan finished without reaching the goal", steps


def start_rejection(eval_starts: np.ndarray, env) -> tuple[str | None, float]:
    """Why the env's current start may not be used (None if it may), and its distance to the nearest eval start."""
    positions = object_positions(env)
    distance = eval_start_distance(eval_starts, positions)
    if distance < INIT_STATE_TOLERANCE:
        return "rejected start: an eval start", distance
    if outside_eval_layout(eval_starts, positions):
        return "rejected start: outside eval layouts", distance
    return None, distance
