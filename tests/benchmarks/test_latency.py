"""The latency benchmark's JSON writer: the fields the Meta-World issue asks for, from one small real run."""

import json
import sys

from benchmarks import latency


def test_latency_json_has_every_policy_its_step_count_and_the_ratios(tmp_path, monkeypatch):
    out = tmp_path / "latency.json"
    options = "--policies my_policy,my_policy_1step --chunk-repeats 2 --train-steps 1 --train-batch-size 2"
    monkeypatch.setattr(sys, "argv", ["latency.py", "--out", str(out), *options.split()])
    latency.main()

    results = json.loads(out.read_text())
    assert results["batch_size"] == 1 and results["image_shape"] == [3, 480, 480]
    assert results["allocator"] in ("jemalloc", "glibc") and "CPU cores" in results["hardware"]
    assert results["threads"] >= 1 and results["git_commit"]
    policies = results["policies"]
    assert list(policies) == ["my_policy", "my_policy_1step"]
    for name, nfe in [("my_policy", 4), ("my_policy_1step", 1)]:
        policy = policies[name]
        assert policy["nfe"] == nfe and policy["params"] == policies["my_policy"]["params"] > 0
        assert 0 < policy["chunk_ms_p50"] <= policy["chunk_ms_p95"]
        assert policy["select_action_ms_p50"] > 0 and policy["train_samples_per_s"] > 0
    assert set(results["ratios"]) == {"my_policy_1step_chunk_over_my_policy"}
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_ratio_is_another_policy_latency_over_my_policy_latency():
    policies = {
        "my_policy": {"chunk_ms_p50": 10.0},
        "act": {"chunk_ms_p50": 72.0},
        "x": {"chunk_ms_p50": 5.0},
    }
    assert latency.chunk_ratios(policies) == {"act_chunk_over_my_policy": 7.2, "x_chunk_over_my_policy": 0.5}


def test_network_evaluations_per_chunk_follow_each_policy_default():
    configs = latency.configs()
    assert {name: latency.nfe(config) for name, config in configs.items()} == {
        "my_policy": 4,
        "my_policy_1step": 1,
        "act": 1,
        "diffusion": 100,  # DDPM, num_inference_steps unset: every training timestep
    }
