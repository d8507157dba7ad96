"""Benchmarks for lambdaloop (see BENCHMARKS.md). A package only so that contenders can load
``bench.handlers.noop`` from the repository root; the scripts run as ``python bench/NAME.py``."""
