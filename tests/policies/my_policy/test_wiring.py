"""my_policy is wired into LeRobot the in-tree way: lazy factory resolution, optional-dependency guard, extra."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import lerobot
from lerobot.policies import PreTrainedPolicy, get_policy_class, make_policy_config, make_pre_post_processors
from lerobot.policies.my_policy import MyPolicy, MyPolicyConfig
from lerobot.utils import import_utils

UPSTREAM_TREE = Path(lerobot.__file__).resolve().parents[2]


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def test_import_lerobot_policies_stays_lazy():
    result = run_python(
        "import sys, lerobot.policies as p\n"
        "assert 'MyPolicyConfig' in p.__all__ and not hasattr(p, 'MyPolicy')\n"
        "p.make_policy_config('my_policy')\n"
        "assert 'lerobot.policies.my_policy.modeling_my_policy' not in sys.modules"
    )
    assert result.returncode == 0, result.stderr


def test_import_works_without_diffusers_and_constructing_names_the_extra():
    """Upstream's `lerobot.optim` imports diffusers whenever it is installed, so hide it to check our guard."""
    result = run_python(
        "import sys\n"
        "sys.modules['diffusers'] = None  # makes `import diffusers` fail, like an environment without it\n"
        "import lerobot.policies as p\n"
        "from lerobot.policies.factory import get_policy_class\n"
        "config = p.make_policy_config('my_policy')\n"
        "policy_cls = get_policy_class('my_policy')\n"
        "try:\n"
        "    policy_cls(config)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'lerobot[my_policy]'" in result.stdout


def test_factory_resolves_my_policy():
    assert get_policy_class("my_policy") is MyPolicy
    assert issubclass(MyPolicy, PreTrainedPolicy) and MyPolicy.name == "my_policy"
    config = make_policy_config("my_policy", horizon=12, n_action_steps=6)
    assert isinstance(config, MyPolicyConfig) and config.type == "my_policy" and config.horizon == 12


def test_factory_uses_my_policy_processor_factory(monkeypatch):
    from lerobot.policies.my_policy import processor_my_policy

    sentinel = (object(), object())
    monkeypatch.setattr(
        processor_my_policy, "make_my_policy_pre_post_processors", lambda config, **_: sentinel
    )
    assert make_pre_post_processors(MyPolicyConfig()) is sentinel


def test_missing_diffusers_gives_install_hint(monkeypatch):
    monkeypatch.setitem(import_utils._require_package_cache, "diffusers", False)
    with pytest.raises(ImportError, match=r"pip install 'lerobot\[my_policy\]'"):
        MyPolicy(MyPolicyConfig())


def test_pyproject_extra_is_in_all():
    extras = tomllib.loads((UPSTREAM_TREE / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["my_policy"] == ["lerobot[diffusers-dep]"]
    assert "lerobot[my_policy]" in extras["all"]
