"""The training-cost table the MDX shows is built from what `train_cost.py` measured, every variant in one run."""

from benchmarks import train_cost


def results(policies: dict[str, float]) -> dict:
    breakdown = {"vision": 20.0, "language": 4.0, "decoder_and_targets": 7.0, "optimizer": 3.0, "ema": 0.5}
    shape = {
        "ms_per_sample": policies,
        "data_ms_per_sample": 5.0,
        "details": {"my_policy": {"breakdown_ms_per_sample": breakdown}},
    }
    return {
        "shapes": {"libero": shape},
        "batch_size": 16,
        "steps": 10,
        "threads": 2,
        "my_policy_before": {"commit": "b6c2e84"},
        "hardware": "test CPU",
        "allocator": "jemalloc",
        "git_commit": "0123456789abcdef",
    }


def test_the_table_has_a_column_for_each_measured_variant_with_its_ratio_to_the_defaults():
    table = train_cost.mdx_section(
        results({"my_policy": 40.0, "my_policy_96px_3stages": 20.0, "act": 400.0, "diffusion": 800.0})
    )
    header, rule, row = table.splitlines()[:3]
    assert (
        header
        == "| shape | my_policy | my_policy_96px_3stages | act | diffusion | my_policy's dataset, per sample |"
    )
    assert rule.count("|") == header.count("|")
    assert row == "| libero | 40.0 ms | 20.0 ms (0.5×) | 400.0 ms (10.0×) | 800.0 ms (20.0×) | 5.0 ms |"
    assert "my_policy_96px |" not in table  # not measured in this run: no column


def test_the_text_gives_lerobot_train_samples_per_s_under_each_measured_launcher():
    measured = results({"my_policy": 40.0})
    measured["shapes"]["libero"]["lerobot_train"] = {
        "defaults": {"samples_per_s": 16.3},
        "libero_recipe": {"samples_per_s": 30.5},
        "libero_recipe_torchrun": {"samples_per_s": 22.25},
    }
    text = train_cost.mdx_section(measured)
    assert (
        "it trains at 16.3 samples/s with its defaults, 30.5 samples/s with the LIBERO recipe, "
        "22.2 samples/s with the LIBERO recipe under `torchrun` (2 data-parallel processes)." in text
    )


def test_results_of_one_lerobot_train_run_still_report():
    measured = results({"my_policy": 40.0})
    measured["shapes"]["libero"]["lerobot_train"] = {
        "samples_per_s": 16.29,
        "batch_size": 16,
        "num_workers": 2,
    }
    assert "it trains at 16.3 samples/s with its defaults." in train_cost.mdx_section(measured)
