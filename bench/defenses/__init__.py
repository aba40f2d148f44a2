"""Defenses placed in front of a victim (identity by default)."""
