#!/usr/bin/env bash
# Write the whole contribution as one patch against the pinned upstream sdist: our new files (README symlink
# kept as a symlink, binary artifacts included) plus the patches to upstream files. That patch is the PR.
# Usage: upstream/export-pr.sh [OUT]   (default: dist/my_policy.patch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist/my_policy.patch}
"$root/upstream/build.sh" >/dev/null
# shellcheck source=/dev/null
. <(grep -E '^(name|version)=' "$root/upstream/lerobot.lock")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar --no-same-owner -xzf "${XDG_CACHE_HOME:-$HOME/.cache}/my_policy/$name-$version.tar.gz" -C "$work"
tree="$work/$name-$version"
git -C "$tree" init -q && git -C "$tree" add -A && git -C "$tree" -c user.name=x -c user.email=x@x commit -qm upstream
for patch in "$root"/upstream/patches/0*.patch; do
  git -C "$tree" apply "$patch"
done
# Tracked files only, copied as git stores them (symlinks stay symlinks).
(cd "$root" && git ls-files -z -- src/lerobot/policies/my_policy tests/policies/my_policy tests/artifacts/policies/my_policy \
  docs/source/my_policy.mdx docs/source/policy_my_policy_README.md | xargs -0 cp --parents -P -t "$tree")
git -C "$tree" add -A
mkdir -p "$(dirname "$out")"
{
  git -C "$tree" diff --cached --binary
  # docs/source/_toctree.yml is not in the sdist: its patch targets upstream main (see the patch header).
  sed -n '/^--- a\//,$p' "$root/upstream/patches/docs-toctree-my-policy.patch" | sed '1i diff --git a/docs/source/_toctree.yml b/docs/source/_toctree.yml'
} > "$out"
echo "export-pr.sh: wrote $out ($(wc -c < "$out") bytes, $(grep -c '^diff --git' "$out") files)"
