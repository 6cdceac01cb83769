"""ragkit's benchmarks: ``python -m bench --list``, ``python -m bench NAME [args]`` (see bench/harness.py)."""
