"""Storage: the home directory, atomic writes and the result store."""
