"""Bundles of the kit for other grading platforms."""
