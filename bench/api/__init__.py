"""The Python API: wrap an encoder, load plugins, run attacks and evaluations from a session.

`bench` re-exports these names lazily (`bench.Victim`, `bench.evaluate`, ...), so the command
line starts without torch. Everything here goes through the code paths a cell takes.
"""
