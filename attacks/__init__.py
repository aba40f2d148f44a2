"""Adversarial attacks on point clouds (registered in ATTACKS)."""
