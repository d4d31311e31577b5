"""Helpers shared by the tests (toy model, subprocess workers)."""
