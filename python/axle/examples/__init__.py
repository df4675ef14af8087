"""Runnable examples: python -m axle.examples.<name>."""
