"""Prior work: miniature recipes of ULIP, OpenShape, ... (registered in METHODS)."""
