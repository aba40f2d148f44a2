"""Results contributed from other machines: bundles, the checks every bundle passes on import,
and the spot check that recomputes some of its samples here."""
