"""This project's own methods (registered in METHODS)."""
