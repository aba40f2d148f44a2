"""The procedural shape generators behind procedural40 and its scan-like variant."""
