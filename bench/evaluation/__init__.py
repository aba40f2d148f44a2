"""Evaluating one cell: the victim, the threat-model check, metrics, EOT, the cell itself."""
