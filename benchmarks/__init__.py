"""Benchmarks and tooling around my_policy (not part of the LeRobot PR): run as `python -m benchmarks.<module>`."""
