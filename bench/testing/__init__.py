"""Helpers shipped for plugin authors: the conformance suite and toy plugins."""
