"""Running cells: specs, the runner, executors and provenance."""
