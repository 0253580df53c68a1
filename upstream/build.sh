#!/usr/bin/env bash
# Materialize the fork: pinned lerobot sdist (sha256-checked) + our patches + links to our in-tree files.
# Idempotent: skips everything when the stamp (lock + patches + link list) is unchanged.
# Usage: upstream/build.sh [DEST]   (default: build/lerobot)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/build/lerobot}
python=${PYTHON:-python3}
# shellcheck source=/dev/null
. <(grep -E '^(name|version|sha256)=' "$root/upstream/lerobot.lock")

# Our files, at their in-tree paths; each is symlinked into the materialized tree so edits are live.
links=(
  src/lerobot/policies/my_policy
  tests/policies/my_policy
  tests/artifacts/policies/my_policy
  docs/source/my_policy.mdx
  docs/source/policy_my_policy_README.md
)
sdist_patches=("$root"/upstream/patches/0*.patch)

stamp_of() { { cat "$root/upstream/lerobot.lock" "${sdist_patches[@]}"; printf '%s\n' "${links[@]}"; } | sha256sum | cut -d' ' -f1; }
stamp=$(stamp_of)
if [[ -f "$dest/.my_policy_stamp" && "$(cat "$dest/.my_policy_stamp")" == "$stamp" ]]; then
  echo "build.sh: $dest is up to date"
  exit 0
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/my_policy
sdist="$cache/$name-$version.tar.gz"
mkdir -p "$cache"
if [[ ! -f "$sdist" ]] || ! echo "$sha256  $sdist" | sha256sum --check --status; then
  echo "build.sh: downloading $name==$version sdist"
  "$python" -m pip download --quiet --no-deps --no-binary :all: --ignore-requires-python --dest "$cache" "$name==$version"
fi
if ! echo "$sha256  $sdist" | sha256sum --check --status; then
  echo "build.sh: sha256 mismatch for $sdist (expected $sha256); refusing to build" >&2
  exit 1
fi

tmp=$(mktemp -d "$(dirname "$dest")/.build.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$dest")"; mktemp -d "$(dirname "$dest")/.build.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT
tar --no-same-owner -xzf "$sdist" -C "$tmp"
tree="$tmp/$name-$version"
for patch in "${sdist_patches[@]}"; do
  if ! git -C "$tree" apply --check "$patch" 2>/dev/null && ! (cd "$tree" && patch -p1 --dry-run --batch --silent < "$patch" >/dev/null); then
    echo "build.sh: patch $(basename "$patch") no longer applies to $name $version; rebase it onto the pinned upstream" >&2
    exit 1
  fi
  (cd "$tree" && patch -p1 --batch --silent --no-backup-if-mismatch < "$patch")
done
for path in "${links[@]}"; do
  mkdir -p "$tree/$(dirname "$path")"
  ln -sfn "$root/$path" "$tree/$path"
done
echo "$stamp" > "$tree/.my_policy_stamp"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tree" "$dest"
echo "build.sh: materialized $name $version + $(( ${#sdist_patches[@]} )) patches at $dest"
