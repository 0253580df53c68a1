#!/usr/bin/env bash
# The PR as a reviewer sees it: export dist/my_policy.patch against upstream, apply it with `git apply` to a
# fresh copy of that upstream tree, then, inside that tree and with its own settings, run
#   - the PR's tests (tests/policies/my_policy) and upstream's tests/policies/test_policies.py for my_policy
#     (the latter only in a git checkout: the sdist does not ship it);
#   - what upstream's pre-commit runs on the PR's files: ruff format/check, typos, pyupgrade --py312-plus,
#     bandit, mypy (src only, like upstream's hook), check-yaml/toml, end-of-file/trailing-whitespace, and
#     prettier on Markdown/MDX.
# The interpreter is this repository's venv with the patched tree first on PYTHONPATH, so upstream's code is
# the tree's, not build/lerobot.
# Usage: upstream/pr-check.sh   (UPSTREAM=<git checkout of huggingface/lerobot> to target its HEAD)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
patch=$root/dist/my_policy.patch
"$root/upstream/export-pr.sh" "$patch"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$("$root/upstream/target-tree.sh" "$work")
git -C "$tree" init -q && git -C "$tree" add -A && git -C "$tree" -c user.name=x -c user.email=x@x commit -qm upstream
excludes=()
for target in $(sed -n 's|^+++ b/||p' "$patch"); do
  # A file the PR edits that this tree lacks (the sdist has no docs/ or upstream tests) cannot be checked here.
  if grep -q "^--- a/$target$" "$patch" && [[ ! -e "$tree/$target" ]]; then excludes+=("--exclude=$target"); fi
done
git -C "$tree" apply ${excludes[@]+"${excludes[@]}"} "$patch"
git -C "$tree" add -A
mapfile -t files < <(git -C "$tree" diff --cached --name-only --diff-filter=d)
mapfile -t py < <(printf '%s\n' "${files[@]}" | grep '\.py$')
mapfile -t md < <(cd "$tree" && for f in "${files[@]}"; do [[ $f =~ \.(md|mdx)$ && ! -L $f ]] && echo "$f"; done)
if [[ -n "${UPSTREAM:-}" ]]; then
  where="$(git -C "$UPSTREAM" rev-parse --short HEAD) $UPSTREAM"
else
  where="the pinned $(grep -E '^(name|version)=' "$root/upstream/lerobot.lock" | cut -d= -f2 | paste -sd' ') sdist"
fi
echo "pr-check: patch applied to $where (${#files[@]} files${excludes[*]:+; not in this tree: ${excludes[*]//--exclude=/}})"

cd "$tree"
export PYTHONPATH=$tree/src:$tree HF_HUB_OFFLINE=1
tests=(tests/policies/my_policy)
[[ -f tests/policies/test_policies.py ]] && tests+=(tests/policies/test_policies.py)
"$bin/python" -c 'import lerobot, sys; sys.exit(not lerobot.__file__.startswith(sys.argv[1]))' "$tree" ||
  { echo "pr-check: python does not import lerobot from $tree" >&2; exit 1; }
"$bin/python" -m pytest -p no:cacheprovider -c pyproject.toml --rootdir . -q -rxXs -k "my_policy or not test_policies" "${tests[@]}"

echo "pr-check: upstream's pre-commit checks on the PR's files"
"$bin/ruff" format --check "${py[@]}"
"$bin/ruff" check "${py[@]}"
"$bin/typos" --force-exclude "${files[@]}"
"$bin/pyupgrade" --py312-plus "${py[@]}"
mapfile -t src_py < <(printf '%s\n' "${py[@]}" | grep '^src/')
"$bin/bandit" -q -c pyproject.toml "${src_py[@]}"
"$bin/mypy" --config-file=pyproject.toml "${src_py[@]}"
"$bin/python" - "${files[@]}" <<'PY'
import sys, tomllib, yaml
bad = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if path.endswith((".yml", ".yaml")):
        yaml.safe_load(data)
    if path.endswith(".toml"):
        tomllib.loads(data.decode())
    if b"\0" in data or not data:
        continue
    if not data.endswith(b"\n") or data.endswith(b"\n\n"):
        bad.append(f"{path}: must end with exactly one newline")
    bad += [f"{path}:{i}: trailing whitespace" for i, line in enumerate(data.splitlines(), 1) if line != line.rstrip()]
    if len(data) > 1024 * 1024:
        bad.append(f"{path}: larger than 1024 kB")
sys.exit("\n".join(bad) if bad else 0)
PY
if command -v npx >/dev/null && timeout 300 npx --yes prettier@3.6.2 --version >/dev/null 2>&1; then
  npx --yes prettier@3.6.2 --check --prose-wrap=preserve "${md[@]}"
else
  echo "pr-check: SKIPPED prettier (npx or the npm registry is not reachable): Markdown/MDX formatting unchecked" >&2
fi
echo "pr-check: passed against $where"
