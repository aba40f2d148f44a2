"""Building blocks attack plugins share: threat-model balls, losses, differentiable distances."""
