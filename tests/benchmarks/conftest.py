"""MuJoCo picks its renderer when first imported: CPU rendering through OSMesa unless the caller chose another
(the Makefile sets the same), before any test module imports Meta-World or LIBERO."""

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
