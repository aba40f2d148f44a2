"""Example plugins for bench, installed through entry points (see docs/plugins.md)."""
