"""Running cells: the runner, its executors, one cell as a task, and provenance."""
