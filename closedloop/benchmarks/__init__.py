"""Benchmark workloads behind ``closedloop bench`` (see bench/README.md); registry in ``runner.WORKLOADS``."""
