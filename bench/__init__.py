"""Benchmarks: each sub-package measures a target against a baseline in the same run (``make bench``)."""
