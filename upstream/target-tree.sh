#!/usr/bin/env bash
# Unpack the tree a PR targets into DIR and print its path: HEAD of the git checkout $UPSTREAM when set, else the
# pinned sdist (sha256-checked by build.sh).
# Usage: upstream/target-tree.sh DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
if [[ -n "${UPSTREAM:-}" ]]; then
  git -C "$UPSTREAM" rev-parse --verify -q HEAD >/dev/null || { echo "target-tree.sh: UPSTREAM=$UPSTREAM is not a git checkout" >&2; exit 1; }
  mkdir -p "$dir/upstream"
  git -C "$UPSTREAM" archive HEAD | tar -x -C "$dir/upstream"
  echo "$dir/upstream"
else
  # shellcheck source=/dev/null
  . <(grep -E '^(name|version)=' "$root/upstream/lerobot.lock")
  tar --no-same-owner -xzf "${XDG_CACHE_HOME:-$HOME/.cache}/my_policy/$name-$version.tar.gz" -C "$dir"
  echo "$dir/$name-$version"
fi
