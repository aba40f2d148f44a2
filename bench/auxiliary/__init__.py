"""Recipes of the auxiliary networks attacks and defenses need (`bench.contracts.auxiliary`)."""
