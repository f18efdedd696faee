"""Synthetic population with known truth: the yardstick for every stage."""
