"""Building blocks attack plugins share: threat-model balls, losses, differentiable distances,
EOT draws, and the skeleton of a run (its opening, best iterates and verdicts)."""
