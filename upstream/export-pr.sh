#!/usr/bin/env bash
# Write the whole contribution as one patch against upstream: our new files (README symlink kept as a symlink,
# binary artifacts included) plus the patches to upstream files. That patch is the PR.
#
# Usage: upstream/export-pr.sh [OUT]   (default: dist/my_policy.patch)
#   UPSTREAM=<git checkout of huggingface/lerobot>  target that tree's HEAD (e.g. a clone of main) instead of
#                                                  the pinned sdist.
# Every patch in upstream/patches must apply to the target, or this fails naming it. The sdist ships neither
# docs/ nor most of tests/: patches to files it lacks (the toctree, upstream's test_policies.py) are then added
# to the PR unchecked, and this says so; `make pr-check UPSTREAM=<clone>` checks them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist/my_policy.patch}
upstream=${UPSTREAM:-}
"$root/upstream/build.sh" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$("$root/upstream/target-tree.sh" "$work")
git -C "$tree" init -q && git -C "$tree" add -A && git -C "$tree" -c user.name=x -c user.email=x@x commit -qm upstream

unchecked=()
for patch in "$root"/upstream/patches/*.patch; do
  target=$(sed -n 's|^+++ b/||p' "$patch" | head -1)
  if [[ ! -e "$tree/$target" && -z "$upstream" ]]; then
    unchecked+=("$patch")
    continue
  fi
  if ! git -C "$tree" apply --check "$patch" 2>/dev/null; then
    echo "export-pr.sh: $(basename "$patch") does not apply to $target in ${upstream:+$(git -C "$upstream" rev-parse --short HEAD) }${upstream:-the pinned sdist}; rebase it" >&2
    exit 1
  fi
  git -C "$tree" apply "$patch"
done
# Tracked files only, copied as git stores them (symlinks stay symlinks).
(cd "$root" && git ls-files -z -- src/lerobot/policies/my_policy tests/policies/my_policy tests/artifacts/policies/my_policy \
  docs/source/my_policy.mdx docs/source/policy_my_policy_README.md | xargs -0 cp --parents -P -t "$tree")
git -C "$tree" add -A
mkdir -p "$(dirname "$out")"
{
  git -C "$tree" diff --cached --binary
  for patch in ${unchecked[@]+"${unchecked[@]}"}; do
    target=$(sed -n 's|^+++ b/||p' "$patch" | head -1)
    echo "diff --git a/$target b/$target"
    sed -n '/^--- a\//,$p' "$patch"
  done
} > "$out"
for patch in ${unchecked[@]+"${unchecked[@]}"}; do
  echo "export-pr.sh: $(basename "$patch") added unchecked: the sdist has no $(sed -n 's|^+++ b/||p' "$patch" | head -1) (check it with UPSTREAM=<clone>)"
done
echo "export-pr.sh: wrote $out ($(wc -c < "$out") bytes, $(grep -c '^diff --git' "$out") files) against ${upstream:-the pinned sdist}"
