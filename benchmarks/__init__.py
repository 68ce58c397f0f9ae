"""Benchmarks: scripts that print figures. Kept apart from the test suite (no timed asserts)."""
