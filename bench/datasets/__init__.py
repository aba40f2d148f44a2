"""Datasets: the embedded procedural40 and loaders for the public files."""
