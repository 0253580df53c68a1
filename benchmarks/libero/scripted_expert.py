"""A scripted LIBERO expert that reads privileged simulator state and acts through LeRobot's `LiberoEnv`.

Actions are what a policy emits at evaluation: 7-D, relative end-effector control (`control_mode="relative"`),
in [-1, 1]: xyz position delta (scaled by the OSC controller's 0.05 m), axis-angle rotation delta in the world frame
(scaled by 0.5 rad) and the gripper (-1 open, +1 close).

The expert is a small library of skills (move, grasp, lift, carry, place, release, slide a drawer open or shut,
swing a door shut, turn a knob, put an object into a cavity behind a door) composed from the task's BDDL goal
predicates by `plan()`; nothing is scripted per task or per episode. Skills are generators that yield one action
per env step and read the live simulator state after every step, so they close the loop.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.spatial.transform import Rotation  # robosuite's dependency, so LIBERO's

Action = np.ndarray
Skill = Iterator[Action]

POS_SCALE = 0.05  # m per unit action (robosuite OSC `output_max` for xyz)
ROT_SCALE = 0.5  # rad per unit action (OSC `output_max` for rotation)
OPEN, CLOSE = -1.0, 1.0
FULLY_OPEN = 0.075  # the Panda's finger distance open (m), a little less than its 0.077
SETTLED = 5e-4  # m an object may move in a step and count as at rest
MAX_FINGER_SPAN = 0.075  # widest object the Panda gripper closes around, with margin (m)
CLEARANCE = 0.04  # gap between a carried object and whatever it passes over (m)
CORRIDOR = 0.1  # objects whose footprint comes this close to a carry path are obstacles (m)
# The Panda's finger pads reach 4 mm below the grip site: grasping this high above an object's bottom keeps them
# off the table and puts most of their 16 mm height on a flat object (butter: 17 mm tall), so it cannot slip out.
GRASP_FLOOR = 0.008  # m
# An object moved aside is set down this far from the part a drawer sweeps (the hand reaches past the rim it
# grasps) and from every other object (room for the open fingers), on the table within TABLE_REACH of its centre.
HAND_REACH, FINGER_ROOM, TABLE_REACH = 0.06, 0.03, 0.35  # m
# An object moved aside is carried ASIDE_GAP (m) above what lies on its way and dropped from there, the fingers
# opening for ASIDE_RELEASE_STEPS before the hand rises; its grasp is `quick` (full speed to QUICK_GAP (m) over it).
# A `quick` grasp turning the wrist by more than BIG_TURN (rad) turns it in place before its approach.
ASIDE_GAP, ASIDE_RELEASE_STEPS, QUICK_GAP, BIG_TURN = 0.02, 6, 0.03, 1.2
# A handle: the last HANDLE_LENGTH (m) at one end of an object's long axis, at most HANDLE_WIDTH (m) across.
HANDLE_LENGTH, HANDLE_WIDTH = 0.03, 0.03
# A top whose highest points lie within OPEN_TOP x the width of its centre is closed (a moka pot's lid): no rim to
# pinch there, unlike a bowl's, a mug's or a plate's (about half the width).
OPEN_TOP = 0.4
# How far inside a region's edge an object's body origin is set down when it shares the region (m).
SLOT_MARGIN = 0.025
SLOT_GAP = 0.005  # gap between objects put side by side in a container (m)
RIM_CLEARANCE = 0.01  # room the open fingers need around a rim grasp (m)
# A drawer is pushed shut from PUSH_START (m) in front of its face with the gripper tipped PUSH_TILT (rad): level,
# the wrist reaches 19 cm behind the fingers, into whatever stands in front of a low drawer (a wine rack).
PUSH_START, PUSH_TILT = 0.05, np.pi / 4
# A hinged part reaching farther than DOOR_WIDTH (m) from its axis is a door, swung by pushing its face at
# SWING_RADIUS of its width, PUSH_GAP (m) off it, aiming SWING_LEAD (rad) ahead of it, for at most SWING_STEPS.
DOOR_WIDTH, SWING_RADIUS, PUSH_GAP, SWING_LEAD, SWING_STEPS = 0.08, 0.75, 0.02, 0.25, 150
# The grip site moving less than BLOCKED_TRAVEL (m) over BLOCKED_STEPS steps is blocked (e.g. a held object resting).
BLOCKED_STEPS, BLOCKED_TRAVEL = 6, 0.002
# A grasp's yaw may go YAW_SLACK (rad) past a quarter turn from the start orientation where the wrist's last joint
# has that much room and WRIST_MARGIN (rad) more (`Expert.grasp_yaw`).
YAW_SLACK, WRIST_MARGIN = 0.4, 1.0
# Two such yaws whose turns from the current one differ by less than YAW_TIE (rad) are a tie, broken towards the one
# leaving the wrist more room: a start a few degrees off (LIBERO's fixed starts turn each arm joint by ~0.02 rad)
# must not flip the hand's turn by half a turn between demonstrations of the same grasp.
YAW_TIE = 0.4
# Into a cavity behind a door: carried FLOOR_GAP (m) above its floor by a top-down hand kept HAND_HALF_DEPTH (m)
# in front of the opening (the hand's half depth across its fingers' closing axis, with margin), then pushed in
# until everything is DOOR_GAP (m) behind the door's plane.
FLOOR_GAP, HAND_HALF_DEPTH, DOOR_GAP = 0.02, 0.04, 0.015


class SkillFailedError(RuntimeError):
    """A skill could not reach its goal; the episode is dropped."""


@dataclass
class Shape:
    """World-frame extent of a body's collision geometry, enough to plan a top-down grasp."""

    center: np.ndarray  # xy center of the footprint
    major: np.ndarray  # unit xy direction of the longest horizontal extent
    length: float  # extent along `major`
    width: float  # extent across `major`
    bottom: float
    top: float
    rim_radius: float  # median distance of the topmost points from `center`: where a bowl's wall is


class Scene:
    """Read-only privileged view of LIBERO's robosuite simulation behind a LeRobot `LiberoEnv`."""

    def __init__(self, lerobot_env):
        self.env = lerobot_env._env.env  # OffScreenRenderEnv -> robosuite/LIBERO problem env
        self.sim = self.env.sim
        self.model = self.sim.model._model
        self.data = self.sim.data._data
        self.robot = self.env.robots[0]
        fingers = ("gripper0_leftfinger", "gripper0_rightfinger")
        self._finger_ids = [self.sim.model.body_name2id(name) for name in fingers]

    # --- robot ---------------------------------------------------------------------------------------------
    def eef_pos(self) -> np.ndarray:
        return np.array(self.sim.data.site_xpos[self.robot.eef_site_id])

    def eef_mat(self) -> np.ndarray:
        return np.array(self.sim.data.site_xmat[self.robot.eef_site_id]).reshape(3, 3)

    def base_pos(self) -> np.ndarray:
        return np.array(self.sim.data.body_xpos[self.sim.model.body_name2id("robot0_base")])

    def finger_axis(self) -> np.ndarray:
        """Horizontal direction along which the fingers close."""
        left, right = (self.data.xpos[i] for i in self._finger_ids)
        axis = (left - right)[:2]
        return axis / np.linalg.norm(axis)

    def gripper_opening(self) -> float:
        left, right = (self.data.xpos[i] for i in self._finger_ids)
        return float(np.linalg.norm(left - right))

    # --- objects -------------------------------------------------------------------------------------------
    def body_pos(self, name: str) -> np.ndarray:
        return np.array(self.sim.data.body_xpos[self.env.obj_body_id[name]])

    def landing_shift(self, name: str) -> np.ndarray:
        """How far (xy) the body origin of `name`, held tilted, moves when it is set down and turns upright about
        its lowest point. LIBERO's objects stand with their body z axis up; a plate pinched by its rim hangs up to
        70 degrees from that, and let go over its region it fell flat 3-4 cm past it."""
        up = self.data.xmat[self.env.obj_body_id[name]].reshape(3, 3)[:, 2]
        axis = np.cross(up, [0.0, 0.0, 1.0])
        if np.linalg.norm(axis) < 1e-6:
            return np.zeros(2)
        upright = Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.arctan2(np.linalg.norm(axis), up[2]))
        points = self.points(name)
        lowest = points[np.argmin(points[:, 2])]
        origin = self.body_pos(name)
        return (lowest + upright.apply(origin - lowest) - origin)[:2]

    def site_pos(self, name: str) -> np.ndarray:
        return np.array(self.sim.data.get_site_xpos(name))

    def site_half_size(self, name: str) -> np.ndarray:
        """Half extents of the world-axis-aligned box around the (possibly turned) site box."""
        mat = np.array(self.sim.data.get_site_xmat(name))
        return np.abs(mat) @ np.asarray(self.env.object_sites_dict[name].size)

    def points(self, name: str) -> np.ndarray:
        """World-frame points on the collision geometry of an object's body subtree."""
        points = self.subtree_points(self.env.obj_body_id[name])
        if points is None:
            raise SkillFailedError(f"object {name!r} has no collision geometry")
        return points

    def other_objects_points(self, exclude: str):
        """Collision points of every object and fixture but `exclude` (those without collision geometry skipped)."""
        for name in self.env.obj_body_id:
            points = None if name == exclude else self.subtree_points(self.env.obj_body_id[name])
            if points is not None:
                yield points

    def subtree_points(self, root: int, exclude: int | None = None) -> np.ndarray | None:
        """Collision points of body `root` and its descendants, but the subtree of body `exclude`."""
        bodies = {root}
        for body in range(root + 1, self.model.nbody):
            if self.model.body_parentid[body] in bodies and body != exclude:
                bodies.add(body)
        points = []
        for geom in range(self.model.ngeom):
            if self.model.geom_bodyid[geom] not in bodies:
                continue
            if self.model.geom_contype[geom] == 0 and self.model.geom_conaffinity[geom] == 0:
                continue
            points.append(self._geom_points(geom))
        return np.concatenate(points) if points else None

    def holds(self, predicate: list[str]) -> bool:
        """Whether a BDDL goal predicate (e.g. `["turnon", "flat_stove_1"]`) holds now, as LIBERO judges success."""
        from libero.libero.envs.predicates import eval_predicate_fn

        name, *args = predicate
        return bool(eval_predicate_fn(name, *(self.env.object_states_dict[arg] for arg in args)))

    # --- articulations -------------------------------------------------------------------------------------
    def joint_qpos(self, joint: str) -> float:
        return float(self.data.qpos[self.model.jnt_qposadr[self.model.joint(joint).id]])

    def joint_axis(self, joint: str) -> np.ndarray:
        return np.array(self.data.xaxis[self.model.joint(joint).id])

    def joint_anchor(self, joint: str) -> np.ndarray:
        return np.array(self.data.xanchor[self.model.joint(joint).id])

    def joint_is_slide(self, joint: str) -> bool:
        return int(self.model.jnt_type[self.model.joint(joint).id]) == 2  # mjJNT_SLIDE

    def wrist_room(self) -> tuple[float, float]:
        """How far (rad) the arm's last joint can still turn the gripper by +yaw and by -yaw about world z. That
        joint turns about the gripper's axis, which points down, so +yaw lowers it."""
        joint = self.model.joint("robot0_joint7")
        low, high = self.model.jnt_range[joint.id]
        q = float(self.data.qpos[self.model.jnt_qposadr[joint.id]])
        return q - float(low), float(high) - q

    def joint_is_hinge(self, joint: str) -> bool:
        return int(self.model.jnt_type[self.model.joint(joint).id]) == 3  # mjJNT_HINGE

    def joint_body(self, joint: str) -> int:
        """The body `joint` moves."""
        return int(self.model.jnt_bodyid[self.model.joint(joint).id])

    def joint_points(self, joint: str) -> np.ndarray:
        points = self.subtree_points(self.joint_body(joint))
        if points is None:
            raise SkillFailedError(f"the part moved by {joint!r} has no collision geometry")
        return points

    def _geom_points(self, geom: int) -> np.ndarray:
        size = self.model.geom_size[geom]
        mesh = self.model.geom_dataid[geom]
        if self.model.geom_type[geom] == 7 and mesh >= 0:  # mjGEOM_MESH
            start, count = self.model.mesh_vertadr[mesh], self.model.mesh_vertnum[mesh]
            local = self.model.mesh_vert[start : start + count]
        else:  # box-like hull of a primitive: its local bounding box corners
            half = np.array(
                [size[0], size[1] if size[1] > 0 else size[0], size[2] if size[2] > 0 else size[1]]
            )
            if self.model.geom_type[geom] in (2, 3, 5):  # sphere, capsule, cylinder: radius in x and y
                half = np.array([size[0], size[0], size[0] if self.model.geom_type[geom] == 2 else size[1]])
            corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
            local = corners * half
        rot = self.data.geom_xmat[geom].reshape(3, 3)
        return local @ rot.T + self.data.geom_xpos[geom]

    def obstacle_top(
        self, start: np.ndarray, end: np.ndarray, exclude: str, corridor: float = CORRIDOR
    ) -> float:
        """Highest top among the objects and fixtures within `corridor` (m) of the straight xy path from `start`
        to `end`."""
        top = -np.inf
        for points in self.other_objects_points(exclude):
            _, near = _along_path(points, start, end, corridor)
            if near.any():
                top = max(top, float(points[near, 2].max()))
        return top

    def path_clear(self, start: np.ndarray, end: np.ndarray, exclude: str) -> bool:
        """Whether the straight path from `start` to `end` passes CLEARANCE above every object and fixture near
        it, at the height the path has where it passes them."""
        for points in self.other_objects_points(exclude):
            t, near = _along_path(points, start, end)
            if np.any(near & (points[:, 2] + CLEARANCE > start[2] + t * (end[2] - start[2]))):
                return False
        return True

    def shape(self, name: str) -> Shape:
        points = self.points(name)
        xy = points[:, :2]
        mean = xy.mean(axis=0)
        _, _, vt = np.linalg.svd(xy - mean, full_matrices=False)
        major = vt[0] / np.linalg.norm(vt[0])
        minor = np.array([-major[1], major[0]])
        along, across = (xy - mean) @ major, (xy - mean) @ minor
        center = mean + major * (along.max() + along.min()) / 2 + minor * (across.max() + across.min()) / 2
        top = points[:, 2].max()
        rim = points[points[:, 2] > top - 0.01, :2]
        return Shape(
            center=center,
            major=major,
            length=float(np.ptp(along)),
            width=float(np.ptp(across)),
            bottom=float(points[:, 2].min()),
            top=float(top),
            rim_radius=float(np.median(np.linalg.norm(rim - center, axis=1))),
        )


# --- low-level motion ----------------------------------------------------------------------------------------
def _along_path(
    points: np.ndarray, start: np.ndarray, end: np.ndarray, corridor: float = CORRIDOR
) -> tuple[np.ndarray, np.ndarray]:
    """Each point's fraction of the way along the straight xy path from `start` to `end` where it is passed, and
    whether it lies within `corridor` (m) of the path."""
    start, seg = start[:2], end[:2] - start[:2]
    t = np.clip((points[:, :2] - start) @ seg / max(seg @ seg, 1e-9), 0.0, 1.0)
    return t, np.linalg.norm(points[:, :2] - (start + t[:, None] * seg), axis=1) < corridor


def _rotation_to(scene: Scene, target: np.ndarray) -> np.ndarray:
    """Axis-angle (world frame) that turns the current gripper orientation into `target`."""
    err = target @ scene.eef_mat().T
    angle = np.arccos(np.clip((np.trace(err) - 1) / 2, -1.0, 1.0))
    if angle < 1e-6:
        return np.zeros(3)
    axis = np.array([err[2, 1] - err[1, 2], err[0, 2] - err[2, 0], err[1, 0] - err[0, 1]]) / (
        2 * np.sin(angle)
    )
    return axis * angle


class Expert:
    """Runs skills on a `Scene`. The gripper's orientation is its top-down start orientation `down`, turned by
    `yaw` about world z, then tipped by `tilt` (a world-frame rotation vector; zero: pointing down)."""

    def __init__(self, scene: Scene, max_speed: float = 1.0, gain: float = 3.0):
        self.scene = scene
        self.down = scene.eef_mat()
        self.yaw = 0.0
        self.tilt = np.zeros(3)
        self.grip = OPEN
        # Grasp yaws stay within a quarter turn of the start, YAW_SLACK more on a side where the wrist has room
        # for it and WRIST_MARGIN (the other joints turn the hand too as it moves across the table).
        self.max_yaw = [
            np.pi / 2 + (YAW_SLACK if room > np.pi / 2 + YAW_SLACK + WRIST_MARGIN else 0.0)
            for room in scene.wrist_room()
        ]
        self.max_speed = max_speed  # norm of the xyz action, in units of the controller's 5 cm/step limit
        self.gain = gain  # the OSC lags its goal, so the position error is amplified into a velocity command

    def orientation(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        yawed = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ self.down
        return Rotation.from_rotvec(self.tilt).as_matrix() @ yawed

    def action(self, target: np.ndarray, speed: float | None = None) -> Action:
        delta = self.gain * (target - self.scene.eef_pos()) / POS_SCALE
        limit = self.max_speed if speed is None else speed
        norm = np.linalg.norm(delta)
        if norm > limit:
            delta *= limit / norm
        rot = np.clip(_rotation_to(self.scene, self.orientation()) / ROT_SCALE, -1.0, 1.0)
        return np.concatenate([delta, rot, [self.grip]]).astype(np.float32)

    def move(
        self,
        target,
        yaw: float | None = None,
        tilt: np.ndarray | None = None,
        tol: float = 0.01,
        max_steps: int = 80,
        speed=None,
        stop_when_blocked: bool = False,
        turn_tol: float = 0.1,
    ) -> Skill:
        """Servo the grip site to `target` (and the gripper to `yaw` and `tilt`) until within `tol` metres and
        `turn_tol` radians, or, with `stop_when_blocked`, until it stops moving (a held object resting on what it is
        lowered onto). The orientation keeps being servoed by the moves that follow."""
        target = np.asarray(target, float)
        if yaw is not None:
            self.yaw = yaw
        if tilt is not None:
            self.tilt = np.asarray(tilt, float)
        recent: list[np.ndarray] = []
        for _ in range(max_steps):
            pos = self.scene.eef_pos()
            rot_err = np.linalg.norm(_rotation_to(self.scene, self.orientation()))
            if np.linalg.norm(target - pos) < tol and rot_err < turn_tol:
                return
            recent = [*recent[-(BLOCKED_STEPS - 1) :], pos]
            blocked = len(recent) == BLOCKED_STEPS and np.linalg.norm(recent[-1] - recent[0]) < BLOCKED_TRAVEL
            if stop_when_blocked and blocked:
                return
            yield self.action(target, speed)
        raise SkillFailedError(f"move to {np.round(target, 3)} did not converge")

    def set_gripper(self, command: float, steps: int = 12) -> Skill:
        """Open or close in place; waits until the fingers stop moving, not at all to open fingers already open.
        (Moving on while they still open drags what was released: a bottle let go on top of a can tips over.)"""
        self.grip = command
        hold = self.scene.eef_pos()
        last = self.scene.gripper_opening()
        if command == OPEN and last >= FULLY_OPEN:
            return
        for i in range(steps):
            yield self.action(hold)
            now = self.scene.gripper_opening()
            if i >= 4 and abs(now - last) < 5e-4:
                return
            last = now

    def settle(self, max_steps: int = 15) -> Skill:
        """Hold still until no object moves more than SETTLED (m) in a step: some LIBERO scenes start with objects
        still falling into place (libero_10 task 1: by 15 cm a step for five steps)."""
        hold = self.scene.eef_pos()
        names = list(self.scene.env.obj_body_id)
        before = np.array([self.scene.body_pos(name) for name in names])
        for _ in range(max_steps):
            yield self.action(hold)
            now = np.array([self.scene.body_pos(name) for name in names])
            if np.abs(now - before).max() < SETTLED:
                return
            before = now

    def preshape(self, opening: float, max_steps: int = 12) -> Skill:
        """Close the fingers part way (to `opening` metres) and hold them there: the gripper command 0 holds."""
        hold = self.scene.eef_pos()
        for _ in range(max_steps):
            if self.scene.gripper_opening() <= opening:
                break
            self.grip = CLOSE
            yield self.action(hold)
        self.grip = 0.0

    def grasp_yaw(self, axis: np.ndarray) -> float:
        """Yaw that aligns the finger axis with `axis`: of the two that do (the fingers are symmetric), the one
        within a quarter turn of the start orientation. Choosing the smaller turn instead lets the turns of
        successive grasps add up until the wrist reaches its joint limit and the arm stalls. Near a quarter turn,
        on a side with room for YAW_SLACK more (`max_yaw`), both are: the one nearer the current yaw is kept, so no
        half turn is commanded (the arm drifts off while it turns that far: libero_10 task 8, the second moka
        pot). On the Panda's start pose that is the +yaw side: -yaw past the quarter turn took the wrist to its
        limit on libero_10 task 4. Both about as near (`YAW_TIE`), the one leaving the wrist more room is taken:
        otherwise which way the hand turns for an axis a quarter turn from the start would hang on noise."""
        current = self.scene.finger_axis()
        yaw = self.yaw + np.arctan2(axis[1], axis[0]) - np.arctan2(current[1], current[0])
        yaw = (yaw + np.pi / 2) % np.pi - np.pi / 2
        plus, minus = self.max_yaw
        candidates = [y for y in (yaw, yaw - np.copysign(np.pi, yaw)) if -minus <= y <= plus]
        nearest = min(abs(y - self.yaw) for y in candidates)
        return max(
            (y for y in candidates if abs(y - self.yaw) < nearest + YAW_TIE),
            key=lambda y: plus - y if y >= 0 else minus + y,
        )


# --- skills ------------------------------------------------------------------------------------------------
def _gripper_clearance(
    scene: Scene, name: str, grasp: np.ndarray, axis: np.ndarray, half_open: float
) -> float:
    """How far other objects stay from the open gripper if it descends to `grasp` with fingers along `axis`:
    the smallest box distance (m, negative inside) from their points to the two finger pads and the hand."""
    across = np.array([-axis[1], axis[0]])
    # (centre along axis, half length along axis, half width across, bottom, top) relative to the grip site
    boxes = [
        (half_open, 0.012, 0.012, -0.01, 0.05),
        (-half_open, 0.012, 0.012, -0.01, 0.05),
        (0.0, 0.11, 0.04, 0.045, 0.2),
    ]
    nearest = np.inf
    for points in scene.other_objects_points(name):
        rel = points - grasp
        u, v, z = rel[:, :2] @ axis, rel[:, :2] @ across, rel[:, 2]
        for center, hu, hv, lo, hi in boxes:
            dz = np.maximum(lo - z, z - hi)
            dist = np.maximum.reduce([np.abs(u - center) - hu, np.abs(v) - hv, dz])
            nearest = min(nearest, float(dist.min()))
    return nearest


def _handle(points: np.ndarray, shape: Shape) -> tuple[np.ndarray, np.ndarray] | None:
    """Grip point and finger axis on a handle: a part at one end of the long axis no wider than HANDLE_WIDTH
    over at least HANDLE_LENGTH (a moka pot's), or None. A bowl's or plate's ends narrow too, but within a
    centimetre or two of the tip."""
    minor = np.array([-shape.major[1], shape.major[0]])
    along = (points[:, :2] - shape.center) @ shape.major
    across = (points[:, :2] - shape.center) @ minor
    for sign in (1.0, -1.0):
        tip = float((sign * along).max())
        run = points[(sign * along) > tip - HANDLE_LENGTH]
        run_across = across[(sign * along) > tip - HANDLE_LENGTH]
        if np.ptp(run_across) <= HANDLE_WIDTH:
            middle = shape.center + shape.major * sign * (tip - HANDLE_LENGTH / 2)
            grip = np.array(
                [*(middle + minor * run_across.mean()), run[:, 2].max() - 0.012]
            )  # pads on its top bar
            return grip, minor
    return None


def pick(
    expert: Expert, name: str, by_handle: bool = False, lift: float = 0.08, quick: bool = False
) -> Skill:
    """Approach from above, grasp and lift `name` by `lift` (m); `quick` (where the plan is short of steps): a big
    turn of the wrist made in place first, then at full speed until QUICK_GAP over the grasp. Objects that fit
    between the fingers are grasped across their narrow side, turned to keep the open fingers clear of neighbours
    (pre-closing the gripper when there is no room); wide ones (bowls, plates) are pinched by the rim, on the side
    nearest the robot's base that leaves the open fingers clear of neighbours; closed-top ones (moka pots), and
    any one `by_handle`, by the handle."""
    scene = expert.scene
    shape = scene.shape(name)
    height = shape.top - shape.bottom
    half_open = 0.5 * scene.gripper_opening() + 0.01
    if by_handle:
        if not (handle := _handle(scene.points(name), shape)):
            raise SkillFailedError(f"{name!r} has no handle to hold it by")
        (grasp, axis), width, preshape = handle, 0.0, False
    elif shape.width <= MAX_FINGER_SPAN:
        grasp = np.array(
            [*shape.center, max(shape.top - min(0.035, 0.5 * height), shape.bottom + GRASP_FLOOR)]
        )
        minor = np.arctan2(shape.major[0], -shape.major[1])
        angles = minor + np.radians(np.arange(-90, 90, 10))
        spans = np.abs(shape.width * np.cos(angles - minor)) + np.abs(shape.length * np.sin(angles - minor))
        candidates = [
            np.array([np.cos(a), np.sin(a)])
            for a, span in zip(angles, spans, strict=True)
            if span <= MAX_FINGER_SPAN
        ]
        clearance = [_gripper_clearance(scene, name, grasp, axis, half_open) for axis in candidates]
        best = int(np.argmax(clearance))
        axis = candidates[best]
        width = float(spans[spans <= MAX_FINGER_SPAN][best])
        preshape = clearance[best] < 0.005
    elif shape.rim_radius < OPEN_TOP * shape.width and (handle := _handle(scene.points(name), shape)):
        (grasp, axis), width, preshape = handle, 0.0, False
    else:  # rim grasp: pinch the wall as near the robot's side as neighbours leave room for the open fingers
        toward = scene.base_pos()[:2] - shape.center
        facing = np.arctan2(toward[1], toward[0])
        rim_z = max(shape.top - 0.02, shape.bottom + GRASP_FLOOR)  # a plate's rim is lower than the pads
        for offset in np.radians([0, 30, -30, 60, -60, 90, -90]):
            axis = np.array([np.cos(facing + offset), np.sin(facing + offset)])
            grasp = np.array([*(shape.center + axis * shape.rim_radius), rim_z])
            if _gripper_clearance(scene, name, grasp, axis, half_open) > RIM_CLEARANCE:
                break
        else:
            raise SkillFailedError(f"no room for the open gripper around the rim of {name!r}")
        width, preshape = 0.0, False
    yaw = expert.grasp_yaw(axis)
    yield from expert.set_gripper(OPEN, steps=6)
    if quick and abs(yaw - expert.yaw) > BIG_TURN:
        # Turned on the way, 1.4 rad over the 5-10 cm from a pulled drawer to the bowl, the hand was driven
        # 25 cm off and the approach did not converge in 80 steps; turned in place first, it takes ~15.
        yield from expert.move(scene.eef_pos(), yaw=yaw, tol=0.02, turn_tol=0.3)
    above = np.array([*grasp[:2], shape.top + 0.08])
    if not scene.path_clear(scene.eef_pos(), above, exclude=name):
        # Coming down on the way would sweep the fingers through something (e.g. what was just put into a
        # basket, and the basket with it): cross over it, then come down.
        over = scene.obstacle_top(scene.eef_pos()[:2], grasp[:2], exclude=name) + CLEARANCE
        yield from expert.move([*grasp[:2], max(over, scene.eef_pos()[2])], yaw=yaw, tol=0.02)
    yield from expert.move(above, yaw=yaw, tol=0.02)
    if preshape:
        yield from expert.preshape(width + 0.025)
    if quick:
        yield from expert.move(grasp + [0, 0, QUICK_GAP], tol=0.01)
    yield from expert.move(grasp, tol=0.008, speed=0.5)
    yield from expert.set_gripper(CLOSE)
    start, hand = scene.body_pos(name)[2], scene.eef_pos()[2]
    yield from expert.move(scene.eef_pos() + [0, 0, lift], tol=0.02, speed=0.5)
    # Held if it came up 3 cm, or a third of the way the hand did: a plate pinched by its rim pivots on its far
    # edge until that leaves the table.
    if scene.body_pos(name)[2] - start < min(0.03, (scene.eef_pos()[2] - hand) / 3):
        raise SkillFailedError(f"{name!r} did not come up with the gripper")


def place(
    expert: Expert,
    name: str,
    target_xy: np.ndarray,
    surface_z: float,
    drop: float = 0.02,
    fit_axis: np.ndarray | None = None,
    by_footprint: bool = False,
    onto_open_surface: bool = False,
) -> Skill:
    """Carry the held object so that its body origin (`by_footprint`: its footprint's centre) is over
    `target_xy`, lower it until its bottom is `drop` above `surface_z`, release and back off. For a tight fit (two
    cans in a basket) the fingers' closing axis is first turned to `fit_axis`, along which there is room for them,
    and the object brought to rest over the target before it is lowered: the carry's momentum takes it ~2 cm on.
    `onto_open_surface`: nothing there holds the object as it was carried, so it is aimed where it lands turned
    upright (`Scene.landing_shift`); in a container, walls and contents keep a tilted can leaning where it is let
    go (aimed by its upright landing, a can in a two-can basket missed its slot)."""
    scene = expert.scene
    if fit_axis is not None:
        yield from expert.move(scene.eef_pos(), yaw=expert.grasp_yaw(fit_axis), tol=0.02)

    def hanging() -> tuple[np.ndarray, float]:
        """Where the hand must be (xy) for the object to come to rest over `target_xy`, and how far its bottom
        hangs below the hand."""
        shape = scene.shape(name)
        held_xy = shape.center if by_footprint else scene.body_pos(name)[:2]
        if onto_open_surface:
            held_xy = held_xy + scene.landing_shift(name)
        return np.asarray(target_xy) + (scene.eef_pos()[:2] - held_xy), scene.eef_pos()[2] - shape.bottom

    goal_xy, bottom_below_grip = hanging()
    clear = max(surface_z, scene.obstacle_top(scene.eef_pos()[:2], goal_xy, exclude=name))
    carry_z = max(clear + bottom_below_grip + CLEARANCE, scene.eef_pos()[2])
    yield from expert.move(np.array([*scene.eef_pos()[:2], carry_z]), tol=0.02)
    # Read again once up: a plate pinched by its rim pivots on its far edge until that leaves the table.
    goal_xy, bottom_below_grip = hanging()
    yield from expert.move(np.array([*goal_xy, carry_z]), tol=0.015, max_steps=120)
    if fit_axis is not None:
        yield from expert.move(np.array([*goal_xy, carry_z]), tol=0.0, max_steps=40, stop_when_blocked=True)
    lowered = np.array([*goal_xy, surface_z + bottom_below_grip + drop])
    # Released where it comes to rest if something (a rim, an object already in the container) stops it higher.
    yield from expert.move(lowered, tol=0.01, speed=0.5, stop_when_blocked=True)
    yield from expert.set_gripper(OPEN)
    yield from expert.move(scene.eef_pos() + [0, 0, 0.08], tol=0.02)


def _turned(xy: np.ndarray, angle: float) -> np.ndarray:
    """`xy` turned by `angle` (rad) about world z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]]) @ xy


def _tipped(direction: np.ndarray, angle: float = np.pi / 2) -> np.ndarray:
    """The tilt that tips the top-down gripper by `angle` (level: a quarter turn), its fingers leaning towards the
    horizontal `direction`."""
    return angle * np.array([direction[1], -direction[0], 0.0])


def _tipped_in_front(
    expert: Expert, point, facing: np.ndarray, fingers: np.ndarray, angle: float = np.pi / 2
) -> Skill:
    """Tip the gripper by `angle`, fingers leaning against `facing` and closing along `fingers`, over `point` at the
    current height, then go straight down to it: the cabinet in front of it is never brushed on the way."""
    high = [*point[:2], max(point[2], expert.scene.eef_pos()[2])]
    tilt = _tipped(-facing, angle)
    yield from expert.move(high, yaw=expert.grasp_yaw(fingers), tilt=tilt, tol=0.02, max_steps=120)
    yield from expert.move(point, tol=0.02)


def slide(expert: Expert, joint: str, target: float, opening: bool) -> Skill:
    """Open a drawer by pinching its handle and pulling along the slide axis, or close it by pushing its front.

    Both from the front, the gripper tipped level with its fingers pointing at the drawer: a hand coming from
    above meets the drawer or handle over this one, and when pushing, reaches the cabinet before the drawer shuts."""
    scene = expert.scene
    travel = target - scene.joint_qpos(joint)
    motion = np.sign(travel) * scene.joint_axis(joint)[:2]
    motion /= np.linalg.norm(motion)
    points = scene.joint_points(joint)
    outward = points[:, :2] @ motion
    # An open drawer's own depth lies along the motion that closes it: only an opening motion looks for a handle.
    pulling = opening and outward.max() - np.median(outward) > 0.03  # a handle sticks out towards the motion
    if pulling:  # fingers closing vertically across the handle
        handle = points[outward > outward.max() - 0.015]
        grip = np.array([*handle[:, :2].mean(axis=0), handle[:, 2].mean()])
        yield from expert.set_gripper(OPEN, steps=6)
        yield from _tipped_in_front(expert, [*(grip[:2] + motion * 0.06), grip[2]], motion, motion)
        yield from expert.move([*(grip[:2] + motion * 0.03), grip[2]], tol=0.01)
        yield from expert.move(grip, tol=0.008, speed=0.5)
        yield from expert.set_gripper(CLOSE)
        yield from expert.move([*(grip[:2] + motion * (abs(travel) + 0.02)), grip[2]], tol=0.01)
        yield from expert.set_gripper(OPEN)
        back = motion
    else:  # closed fingers, side by side, push the face that trails the motion
        face = points[-outward > (-outward).max() - 0.015]
        contact = np.array([*face[:, :2].mean(axis=0), face[:, 2].mean()])
        yield from expert.set_gripper(CLOSE, steps=6)
        across = np.array([-motion[1], motion[0]])
        yield from _tipped_in_front(
            expert, [*(contact[:2] - motion * PUSH_START), contact[2]], -motion, across, PUSH_TILT
        )
        # Aimed 1 cm past the shut position, which the cabinet's face may keep the hand from reaching: the push
        # is done once the drawer stops it.
        yield from expert.move(
            [*(contact[:2] + motion * (abs(travel) + 0.01)), contact[2]],
            tol=0.01,
            speed=0.5,
            stop_when_blocked=True,
        )
        back = -motion
    yield from _back_off(expert, back)


def _back_off(expert: Expert, direction: np.ndarray) -> Skill:
    """Draw the tipped gripper 6 cm back along `direction` (xy), then up: clear of the fixture once up, it turns
    back to pointing down on the way to what comes next."""
    scene = expert.scene
    yield from expert.move([*(scene.eef_pos()[:2] + direction * 0.06), scene.eef_pos()[2]], tol=0.02)
    yield from expert.move(scene.eef_pos() + [0, 0, 0.08], tilt=np.zeros(3), tol=0.02, turn_tol=np.pi / 4)


def turn(expert: Expert, joint: str, target: float) -> Skill:
    """Turn a knob about its vertical axis: grasp it from above and rotate the wrist."""
    scene = expert.scene
    axis = scene.joint_axis(joint)
    if abs(axis[2]) < 0.9:
        raise NotImplementedError(f"{joint!r} does not turn about a vertical axis")
    points = scene.joint_points(joint)
    center = np.array([*points[:, :2].mean(axis=0), points[:, 2].max() - 0.01])
    yield from expert.set_gripper(OPEN, steps=6)
    yield from expert.move([*center[:2], center[2] + 0.08], tol=0.02)
    yield from expert.move(center, tol=0.008, speed=0.5)
    yield from expert.set_gripper(CLOSE)
    rotation = np.sign(axis[2]) * (target - scene.joint_qpos(joint))
    yield from expert.move(center, yaw=expert.yaw + rotation, tol=0.02, max_steps=60)
    yield from expert.set_gripper(OPEN)
    yield from expert.move(scene.eef_pos() + [0, 0, 0.08], tol=0.02)


def swing(expert: Expert, joint: str, target: float) -> Skill:
    """Swing a door about its vertical hinge by pushing the face that trails the motion with the closed fingers,
    pointing down, following the door round the hinge until the joint reaches `target`. The hand aims SWING_LEAD
    ahead of where the door is, so it keeps pushing, and pushes at SWING_RADIUS of the door's width, where the
    door turns under a push that a top-down hand can give."""
    scene = expert.scene
    hinge = scene.joint_anchor(joint)
    start = scene.joint_qpos(joint)
    turn_sign = np.sign(scene.joint_axis(joint)[2])  # world rotation about +z per unit of the joint
    ahead = np.sign(target - start) * turn_sign
    points = scene.joint_points(joint)
    rel = points[:, :2] - hinge[:2]
    reach = np.linalg.norm(rel, axis=1)
    along = rel[np.argmax(reach)] / reach.max()  # from the hinge to the door's free edge
    motion = ahead * np.array([-along[1], along[0]])  # where the door's face moves at the start
    trailing_face = float((rel @ motion).min())
    # Where the hand pushes, from the hinge: on the trailing face, PUSH_GAP off it, SWING_RADIUS out along it.
    offset = along * SWING_RADIUS * reach.max() + motion * (trailing_face - PUSH_GAP)
    height = 0.5 * (points[:, 2].min() + points[:, 2].max())

    def hand(lead: float) -> np.ndarray:
        """Where the hand pushes: its start offset turned as far as the door has turned, plus `lead`."""
        angle = turn_sign * (scene.joint_qpos(joint) - start) + ahead * lead
        return np.array([*(hinge[:2] + _turned(offset, angle)), height])

    yield from expert.set_gripper(CLOSE, steps=6)
    push = hand(lead=0.0)
    over = [*push[:2], max(scene.eef_pos()[2], points[:, 2].max() + 0.08)]
    yield from expert.move(over, yaw=expert.grasp_yaw(along), tol=0.02, max_steps=120)
    yield from expert.move(push, tol=0.01)
    for _ in range(SWING_STEPS):
        if np.sign(target - scene.joint_qpos(joint)) != np.sign(target - start):  # reached or passed
            break
        yield expert.action(hand(lead=SWING_LEAD), speed=0.5)
    else:
        raise SkillFailedError(f"{joint!r} did not swing to {target:.3f} (at {scene.joint_qpos(joint):.3f})")
    yield from expert.move(scene.eef_pos() + [0, 0, 0.1], tol=0.02)


def _front(scene: Scene, joint: str, closed: float, inside: np.ndarray) -> tuple[np.ndarray, float]:
    """The opening a door shuts: its horizontal normal pointing away from `inside` (xy) and the offset of the
    plane through the hinge along it. The door, turned to `closed`, lies in that plane."""
    hinge = scene.joint_anchor(joint)[:2]
    rel = scene.joint_points(joint)[:, :2] - hinge
    edge = rel[np.argmax(np.linalg.norm(rel, axis=1))]
    angle = np.sign(scene.joint_axis(joint)[2]) * (closed - scene.joint_qpos(joint))
    edge = _turned(edge, angle)
    normal = np.array([-edge[1], edge[0]]) / np.linalg.norm(edge)
    if (hinge - inside) @ normal < 0:
        normal = -normal
    return normal, float(hinge @ normal)


def insert(expert: Expert, name: str, region: str, joint: str, closed: float) -> Skill:
    """Put `name`, held from above by its handle, into `region` behind the door at `joint` (a microwave's
    cavity): roofed, it is entered from the front. The hand stays in front of the opening while the object goes
    in as far as that allows, above the cavity's floor; let go, it is pushed the rest of the way by the level,
    closed fingers until no part of it is left in the door's way to `closed`."""
    scene = expert.scene
    center, half = scene.site_pos(region), scene.site_half_size(region)
    normal, plane = _front(scene, joint, closed, center[:2])
    across = np.array([-normal[1], normal[0]])
    body = scene.body_pos(name)
    # How far the object reaches past its body origin, inwards.
    back = float(((scene.points(name)[:, :2] - body[:2]) @ -normal).max())
    grip = scene.eef_pos() - body  # the hand, from the body origin
    # Grip height with the object's bottom FLOOR_GAP above the cavity's floor.
    low = scene.eef_pos()[2] + center[2] - half[2] + FLOOR_GAP - scene.shape(name).bottom
    # The hand with the object in front of the opening, then as far in as the hand, kept out, lets it go.
    outside = grip[:2] + across * (center[:2] @ across) + normal * (plane + back + CLEARANCE)
    inserted = outside - normal * (outside @ normal - plane - HAND_HALF_DEPTH)
    yield from expert.move([*outside, max(low, scene.eef_pos()[2])], tol=0.015, max_steps=120)
    yield from expert.move([*outside, low], tol=0.01, speed=0.5)
    yield from expert.move([*inserted, low], tol=0.01, speed=0.5)
    yield from expert.move([*inserted, low - FLOOR_GAP - 0.01], tol=0.005, speed=0.3, stop_when_blocked=True)
    yield from expert.set_gripper(OPEN)
    yield from expert.move(scene.eef_pos() + [0, 0, 0.06], tol=0.02)
    # The push: on the part sticking out most (a mug's handle), until it is DOOR_GAP behind the door's plane.
    points = scene.points(name)
    out = points[:, :2] @ normal
    face = points[out > out.max() - 0.01]
    contact = np.array([*face[:, :2].mean(axis=0), face[:, 2].mean()])
    travel = out.max() - plane + DOOR_GAP
    yield from expert.set_gripper(CLOSE, steps=6)
    yield from _tipped_in_front(expert, [*(contact[:2] + normal * PUSH_START), contact[2]], normal, across)
    yield from expert.move([*(contact[:2] - normal * travel), contact[2]], tol=0.01, speed=0.5)
    yield from _back_off(expert, normal)


# --- planning from BDDL goals ------------------------------------------------------------------------------
def _articulation(scene: Scene, name: str) -> tuple[list[str], dict]:
    """Joints behind a goal argument (a fixture or one of its regions) and the fixture's articulation ranges."""
    if name in scene.env.object_sites_dict:
        joints = scene.env.object_sites_dict[name].joints or []
        fixture = scene.env.object_states_dict[name].parent_name
    else:
        joints, fixture = scene.env.get_object(name).joints, name
    return list(joints), scene.env.get_object(fixture).object_properties["articulation"]


def _is_door(scene: Scene, joint: str) -> bool:
    """A hinged part wider than a knob (a microwave's door): it is swung by pushing, not turned by the wrist."""
    rel = scene.joint_points(joint)[:, :2] - scene.joint_anchor(joint)[:2]
    return float(np.linalg.norm(rel, axis=1).max()) > DOOR_WIDTH


def _door(scene: Scene, region: str) -> tuple[str, float] | None:
    """The joint of the door that shuts the fixture `region` belongs to (a microwave's), and its closed position."""
    if region not in scene.env.object_sites_dict:
        return None
    fixture = scene.env.get_object(scene.env.object_states_dict[region].parent_name)  # None: the table
    doors = (
        [j for j in fixture.joints or [] if scene.joint_is_hinge(j) and _is_door(scene, j)] if fixture else []
    )
    if not doors:
        return None
    return doors[0], float(np.mean(fixture.object_properties["articulation"]["default_close_ranges"]))


def _actuate(expert: Expert, name: str, ranges_key: str) -> Iterator[Callable[[], Skill]]:
    joints, articulation = _articulation(expert.scene, name)
    target = float(np.mean(articulation[ranges_key]))
    for joint in joints:
        if expert.scene.joint_is_slide(joint):
            yield lambda joint=joint: slide(expert, joint, target, ranges_key == "default_open_ranges")
        elif _is_door(expert.scene, joint):
            yield lambda joint=joint: swing(expert, joint, target)
        else:
            yield lambda joint=joint: turn(expert, joint, target)


def _place_target(
    scene: Scene, predicate: str, target: str, slot: int = 0, slots: int = 1, radius: float = 0.0
) -> tuple[np.ndarray, float]:
    """Where to put an object for `(predicate obj target)`: the xy its body must reach and the surface height.
    When the goal shares a region out into `slots` places, the `slot`-th goes to its own: on a region, along its
    longer side, as far apart as the region lets their bodies stay inside it (both moka pots on a burner); in a
    container, along the container's longer side, objects of `radius` (m) SLOT_GAP apart around its middle (two
    cans in a basket barely longer than both)."""
    if target not in scene.env.object_sites_dict:
        return scene.body_pos(target)[:2], scene.shape(target).top
    center = scene.site_pos(target)
    half = scene.site_half_size(target)
    surface = center[2] - half[2] if predicate == "in" else center[2]
    container = _container(scene, target)
    if slots > 1:
        lead = 2 * slot / (slots - 1) - 1
        if container:
            center[:2] += lead * (radius + SLOT_GAP / 2) * scene.shape(container).major
        else:
            side = int(half[1] > half[0])
            center[side] += lead * max(half[side] - SLOT_MARGIN, 0.0)
    if container:
        surface = max(surface, scene.shape(container).bottom)
    return center[:2], surface


def _container(scene: Scene, region: str) -> str | None:
    """The object (a basket) whose `<name>_contain_region` `region` is, if it is one."""
    name = region.removesuffix("_contain_region")
    return name if name != region and name in scene.env.obj_body_id else None


def _slots(scene: Scene, goal: list[list[str]]) -> Counter:
    """How many places each goal region is shared out into: one per object set *on* it; objects put *in* a
    container settle against each other, stacked, unless stacked they would stand above its rim (two cans in the
    basket: the top one tips out), then side by side."""
    placed = [(predicate, *args) for predicate, *args in goal if predicate in ("on", "in")]
    slots = Counter(target for predicate, _, target in placed if predicate == "on")
    inside = defaultdict(list)
    for predicate, obj, target in placed:
        if predicate == "in":
            inside[target].append(scene.shape(obj))
    for target, shapes in inside.items():
        if container := _container(scene, target):
            depth = scene.shape(container).top - _place_target(scene, "in", target)[1]
            if sum(shape.top - shape.bottom for shape in shapes) > depth:
                slots[target] = len(shapes)
    return slots


def _swept_box(scene: Scene, joint: str, target: float) -> tuple[np.ndarray, np.ndarray]:
    """World xy box (low, high corners) of the part `joint` moves, over its whole travel to `target`."""
    points = scene.joint_points(joint)[:, :2]
    moved = points + (target - scene.joint_qpos(joint)) * scene.joint_axis(joint)[:2]
    swept = np.concatenate([points, moved])
    return swept.min(axis=0), swept.max(axis=0)


def _overlaps(points: np.ndarray, box: tuple[np.ndarray, np.ndarray], margin: float) -> bool:
    """Whether the xy extent of `points` comes within `margin` of the xy `box`."""
    low, high = box
    xy = points[:, :2]
    return bool(np.all(xy.min(axis=0) < high + margin) and np.all(xy.max(axis=0) > low - margin))


def _aside_lift(scene: Scene, name: str, shape: Shape, center: np.ndarray) -> float:
    """How high `name` (of `shape`) must be lifted to be carried straight to where its footprint is centred on
    `center` (xy), ASIDE_GAP over whatever comes within FINGER_ROOM of it on the way (the spot itself is that
    clear)."""
    reach = 0.5 * max(shape.length, shape.width) + FINGER_ROOM
    return max(scene.obstacle_top(shape.center, center, name, reach) - shape.bottom, 0.0) + ASIDE_GAP


def _clear_spot(
    scene: Scene, name: str, avoid: tuple[np.ndarray, np.ndarray], toward: np.ndarray
) -> np.ndarray:
    """The table spot (xy of `name`'s footprint centre) clear of `avoid` and of every other object that adds the
    least to its way to `toward` (where it goes next), counting the lift over what lies on the way there up and
    down: each carry costs the expert steps the episode may lack (past a wine bottle, the bowl went up 10 cm)."""
    shape = scene.shape(name)
    radius = 0.5 * max(shape.length, shape.width)
    others = np.concatenate([points[:, :2] for points in scene.other_objects_points(name)])
    grid = np.stack(np.meshgrid(*[np.arange(-0.3, 0.301, 0.01)] * 2), axis=-1).reshape(-1, 2) + shape.center
    way = np.linalg.norm(grid - shape.center, axis=1) + np.linalg.norm(grid - toward, axis=1)
    order = np.argsort(way, kind="stable")
    best, best_cost = None, np.inf
    for center, flat in zip(grid[order], way[order], strict=True):
        if flat >= best_cost:  # the lift only adds: no spot further on can cost less
            break
        on_table = np.all(np.abs(center) < TABLE_REACH)
        clear = np.min(np.linalg.norm(others - center, axis=1)) > radius + FINGER_ROOM
        if on_table and clear and not _overlaps(center[None], avoid, radius + HAND_REACH):
            cost = flat + 2 * _aside_lift(scene, name, shape, center)
            if cost < best_cost:
                best, best_cost = center, cost
    if best is None:
        raise SkillFailedError(f"no clear spot on the table to move {name!r} to")
    return best


def _move_aside(expert: Expert, name: str, avoid: tuple[np.ndarray, np.ndarray], toward: np.ndarray) -> Skill:
    """Pick `name` and set it down clear of `avoid`, on its way `toward` where it goes next: a drawer opened over
    an object leaves no room to grasp it. The spot is near and clear, so it is carried straight there, ASIDE_GAP
    above what lies on the way, and let drop from there: the whole plan (libero_goal task 3: set the bowl aside,
    pull the drawer, pick the bowl again, put it in) barely fits the suite's 300 steps."""
    scene = expert.scene
    shape = scene.shape(name)
    spot = _clear_spot(scene, name, avoid, toward)
    yield from pick(expert, name, lift=_aside_lift(scene, name, shape, spot), quick=True)
    yield from expert.move(scene.eef_pos() + [*(spot - scene.shape(name).center), 0.0], tol=0.015)
    yield from expert.set_gripper(OPEN, steps=ASIDE_RELEASE_STEPS)
    yield from expert.move(scene.eef_pos() + [0, 0, 0.08], tol=0.02)


def _top_inside(scene: Scene, region: str, exclude: str) -> float:
    """Highest top of the objects (but `exclude` and the container) whose body is over `region`'s footprint."""
    center, half = scene.site_pos(region)[:2], scene.site_half_size(region)[:2]
    container = region.removesuffix("_contain_region")
    inside = [
        scene.shape(name).top
        for name in scene.env.obj_body_id
        if name not in (exclude, container) and np.all(np.abs(scene.body_pos(name)[:2] - center) <= half)
    ]
    return max(inside, default=-np.inf)


def _drawer(scene: Scene, region: str) -> str | None:
    """The slide joint of the drawer `region` lies in, if it does."""
    if region not in scene.env.object_sites_dict:
        return None
    return next(filter(scene.joint_is_slide, scene.env.object_sites_dict[region].joints or []), None)


def _out_from_under(scene: Scene, region: str, joint: str, xy: np.ndarray, radius: float) -> np.ndarray:
    """`xy` moved out along the open drawer's motion until an object of `radius` (m) lowered there clears the
    fixture's front (the drawer above hangs over the back of an open bottom drawer: the bowl lowered onto the
    region's middle landed tilted on its edge and jammed the drawer), staying inside the region."""
    fixture = scene.env.obj_body_id[scene.env.object_states_dict[region].parent_name]
    frame = scene.subtree_points(fixture, exclude=scene.joint_body(joint))
    center, half = scene.site_pos(region), scene.site_half_size(region)
    opened = np.mean(_articulation(scene, region)[1]["default_open_ranges"])
    out = np.sign(opened) * scene.joint_axis(joint)[:2]
    out /= np.linalg.norm(out)
    if frame is None or not (above := frame[frame[:, 2] > center[2] - half[2]]).size:
        return xy
    front = float((above[:, :2] @ out).max()) + radius + SLOT_GAP
    edge = float(center[:2] @ out + np.abs(out) @ half[:2])
    return xy + max(min(front, edge) - float(xy @ out), 0.0) * out


def _place(expert: Expert, obj: str, predicate: str, target: str, slot: int, slots: int) -> Skill:
    scene = expert.scene
    shape = scene.shape(obj)
    radius = 0.5 * max(shape.length, shape.width)
    # Read now, not when planned: drawers may have moved.
    xy, surface = _place_target(scene, predicate, target, slot, slots, radius)
    if predicate == "in" and (drawer := _drawer(scene, target)):
        xy = _out_from_under(scene, target, drawer, xy, radius)
    fit_axis, by_footprint = None, False
    if predicate == "in" and slots > 1:
        # The closed fingers stick out past the object along their closing axis: across the row, not into the
        # object beside it or the container's end wall.
        major = scene.shape(_container(scene, target)).major
        fit_axis = np.array([-major[1], major[0]])
    elif predicate == "in" and target in scene.env.object_sites_dict:
        # Released on what is already inside: pressed down onto it, the held object pushes the container away.
        surface = max(surface, _top_inside(scene, target, exclude=obj))
        fit_axis = _lengthwise(scene, obj, target)
        # Into a slot, centred by its footprint: a book's body origin lies 1.4 cm from its middle along its
        # length, and centred by it, the book caught on the end of the caddy's slot.
        by_footprint = fit_axis is not None
    yield from place(
        expert,
        obj,
        xy,
        surface,
        fit_axis=fit_axis,
        by_footprint=by_footprint,
        onto_open_surface=predicate == "on",
    )


def _lengthwise(scene: Scene, obj: str, region: str) -> np.ndarray | None:
    """The fingers' closing axis that lays the held `obj` lengthwise along `region`, where the region is too
    narrow for it as it is held but not turned (a book into a caddy's 6 cm slot); None where it fits as held.
    Lowered across the slot, the book caught on its wall and swung out of the fingers."""
    half = scene.site_half_size(region)[:2]
    shape = scene.shape(obj)
    minor = np.array([-shape.major[1], shape.major[0]])
    held = np.abs(shape.major) * shape.length + np.abs(minor) * shape.width  # footprint's xy extent
    long_side = int(half[1] > half[0])
    if (
        np.all(held <= 2 * half)
        or shape.length > 2 * half[long_side]
        or shape.width > 2 * half[1 - long_side]
    ):
        return None
    turn = np.arctan2(*shape.major[::-1]) - long_side * np.pi / 2  # major -> the region's long side
    return _turned(scene.finger_axis(), -turn)


ORDER = {"open": 0, "turnon": 1, "on": 2, "in": 2, "close": 3}  # open containers first, close them last
ARTICULATION_PREDICATES = ("open", "close", "turnon")


def plan(expert: Expert, goal: list[list[str]]) -> Iterator[Callable[[], Skill]]:
    """Skills for a conjunction of BDDL goal predicates. Putting something in a closed drawer opens it first.
    An articulation already as the goal wants it when its turn comes is left alone: libero_10 task 8 starts with
    the stove's knob anywhere in its "on" range, and gripping the knob's bar end-on there stalls the hand."""
    scene = expert.scene
    unknown = [p for p, *_ in goal if p not in ORDER]
    if unknown:
        raise NotImplementedError(f"no skill for the goal predicates {unknown} yet")
    slots = _slots(scene, goal)
    slot = Counter()
    for predicate, *args in sorted(goal, key=lambda g: ORDER[g[0]]):
        if predicate in ARTICULATION_PREDICATES:
            if not scene.holds([predicate, *args]):
                yield from _actuate(expert, args[0], f"default_{predicate}_ranges")
        else:
            obj, target = args
            sites = scene.env.object_sites_dict
            door = _door(scene, target) if predicate == "in" else None
            moved_aside = False  # then picked twice: the plan is short of steps
            if (
                target in sites
                and sites[target].joints
                and not scene.env.object_states_dict[target].is_open()
            ):
                joints, articulation = _articulation(scene, target)
                opened = float(np.mean(articulation["default_open_ranges"]))
                for joint in filter(scene.joint_is_slide, joints):  # a drawer, not a door
                    box = _swept_box(scene, joint, opened)
                    if _overlaps(scene.points(obj), box, CLEARANCE):
                        travel = (opened - scene.joint_qpos(joint)) * scene.joint_axis(joint)[:2]
                        inside = scene.site_pos(target)[:2] + travel  # the region once the drawer is open
                        yield lambda obj=obj, box=box, inside=inside: _move_aside(expert, obj, box, inside)
                        moved_aside = True
                yield from _actuate(expert, target, "default_open_ranges")
            if door:  # roofed: entered from the front, the hand kept out
                yield lambda obj=obj: pick(expert, obj, by_handle=True)
                yield partial(insert, expert, obj, target, *door)
                continue
            yield partial(pick, expert, obj, quick=moved_aside)
            yield partial(_place, expert, obj, predicate, target, slot[target], max(slots[target], 1))
            slot[target] += 1


def run_expert(expert: Expert, goal: list[list[str]]) -> Skill:
    yield from expert.settle()  # the plan reads where things are
    for skill in plan(expert, goal):
        yield from skill()
