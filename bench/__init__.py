"""A benchmark harness for zero-shot adversarial robustness of 3D point-cloud recognition."""

__version__ = "0.1.0"
