"""Numerics of my_policy for a fixed seed match the committed artifacts (see save_my_policy_artifacts.py)."""

import pytest
import torch
from safetensors.torch import load_file
from save_my_policy_artifacts import ARTIFACTS, CASES, compute


@pytest.mark.parametrize("case", list(CASES))
def test_matches_committed_artifacts(case):
    current = compute(case)
    for name, tensors in current.items():
        expected = load_file(ARTIFACTS / case / f"{name}.safetensors")
        assert set(expected) == set(tensors), f"{case}/{name}: keys changed; regenerate with `make artifacts`"
        for key, value in tensors.items():
            torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5, msg=f"{case}/{name}/{key}")
