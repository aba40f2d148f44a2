"""Contracts every stage shares: plugin kinds, registries, configs, errors, hashing."""
