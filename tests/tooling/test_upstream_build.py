"""This repository's build and export tooling (not part of the PR): the pinned sdist materialized with our
patches and links, the exported PR patch, the user's wheel."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lerobot

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_TREE = Path(lerobot.__file__).resolve().parents[2]
LOCK = dict(
    line.split("=", 1) for line in (REPO / "upstream/lerobot.lock").read_text().split() if "=" in line
)
SDIST = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / f"my_policy/lerobot-{LOCK['version']}.tar.gz"
)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def test_readme_is_a_symlink_into_docs():
    readme = REPO / "src/lerobot/policies/my_policy/README.md"
    assert readme.is_symlink()
    assert os.readlink(readme) == "../../../../docs/source/policy_my_policy_README.md"
    assert readme.resolve() == (REPO / "docs/source/policy_my_policy_README.md").resolve()
    assert "@" in readme.read_text(), "the policy README should carry a BibTeX entry"


def test_toctree_patch_lists_the_policy_under_policies():
    patch = (REPO / "upstream/patches/docs-toctree-my-policy.patch").read_text()
    added = [line for line in patch.splitlines() if line.startswith("+ ")]
    assert added == ["+  - local: my_policy", "+    title: MyPolicy"]
    hunk = patch[patch.index("@@") :]
    assert hunk.index("+  - local: my_policy") < hunk.index('title: "Policies"')
    assert (REPO / "docs/source/my_policy.mdx").is_file()


def test_no_tracked_file_copies_upstream():
    blobs_file = REPO.parent / "shared/upstream-lerobot-blobs.txt"
    if not blobs_file.is_file():
        pytest.skip(f"{blobs_file} (upstream blob hashes) is not beside this checkout")
    upstream_blobs = set(blobs_file.read_text().split())
    listing = subprocess.run(
        ["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    copies = [
        line.split("\t")[1]
        for line in listing.splitlines()
        if line.split()[1] in upstream_blobs and not line.split("\t")[1].startswith("LICENSE")
    ]
    assert not copies, f"byte-identical copies of upstream files: {copies}"


def test_exported_pr_applies_to_clean_upstream(tmp_path):
    patch = tmp_path / "my_policy.patch"
    subprocess.run([REPO / "upstream/export-pr.sh", patch], check=True, capture_output=True)
    shutil.unpack_archive(SDIST, tmp_path)
    tree = tmp_path / f"lerobot-{LOCK['version']}"
    subprocess.run(
        [
            "git",
            "apply",
            "--exclude=docs/source/_toctree.yml",
            "--exclude=tests/policies/test_policies.py",
            patch,
        ],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    assert (tree / "src/lerobot/policies/my_policy/README.md").is_symlink()
    result = run_python(
        "import lerobot, lerobot.policies.my_policy as m; print(lerobot.__file__); print(m.MyPolicy.name)",
        PYTHONPATH=str(tree / "src"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tree / "src/lerobot/__init__.py"), "my_policy"]


def test_build_fails_loudly_when_a_patch_stops_applying(tmp_path):
    shutil.copytree(REPO / "upstream", tmp_path / "upstream")
    broken = tmp_path / "upstream/patches/0001-policies-export-my-policy-config.patch"
    broken.write_text(broken.read_text().replace("MultiTaskDiTConfig as MultiTaskDiTConfig", "NoSuchLine"))
    result = subprocess.run(
        [tmp_path / "upstream/build.sh", tmp_path / "build"], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "0001-policies-export-my-policy-config.patch no longer applies" in result.stderr


def test_user_install_wheel_contains_the_policy_and_its_extra(tmp_path):
    """What `pip install '<materialized fork>[my_policy]'` installs: the symlinked package is really packaged."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            UPSTREAM_TREE,
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lerobot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for module in ("__init__", "configuration_my_policy", "modeling_my_policy", "processor_my_policy"):
        assert f"lerobot/policies/my_policy/{module}.py" in names
    assert 'Requires-Dist: lerobot[diffusers-dep]; extra == "my-policy"' in metadata


def test_export_fails_naming_a_patch_that_does_not_apply_to_the_upstream_checkout(tmp_path):
    """UPSTREAM=<git checkout>: every patch must apply there, the toctree's too (the sdist has no docs/)."""
    # Owned by us (git refuses a repository owned by the archive's user), as export-pr.sh unpacks it.
    subprocess.run(["tar", "--no-same-owner", "-xzf", SDIST, "-C", tmp_path], check=True)
    clone = tmp_path / f"lerobot-{LOCK['version']}"
    toctree = clone / "docs/source/_toctree.yml"
    toctree.parent.mkdir(parents=True, exist_ok=True)
    toctree.write_text("- sections:\n  - local: index\n    title: LeRobot\n  title: Get started\n")
    subprocess.run(["git", "init", "-q"], cwd=clone, check=True)
    subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
    subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "upstream"],
        cwd=clone,
        check=True,
    )
    result = subprocess.run(
        [REPO / "upstream/export-pr.sh", tmp_path / "pr.patch"],
        capture_output=True,
        text=True,
        env={**os.environ, "UPSTREAM": str(clone)},
        check=False,
    )
    assert result.returncode != 0
    assert "docs-toctree-my-policy.patch does not apply to docs/source/_toctree.yml" in result.stderr
    assert not (tmp_path / "pr.patch").exists()
