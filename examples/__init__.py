"""Example kernels (package data: read with importlib.resources or load by path)."""
