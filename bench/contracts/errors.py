"""The errors a user can cause, as one hierarchy, so the CLI can print one sentence for each.

BenchError                      anything the harness reports to a user
├── UsageError                  exit code 2: the command or spec asked for something invalid
│   ├── UnknownPluginError      a name that no registry holds (also a KeyError)
│   ├── ConfigError             a config key or value that does not fit the plugin's Config
│   ├── SpecError               a run spec file that cannot be read or expanded
│   └── WriteError              an output or home path that cannot be written
├── PluginLoadError             a plugin module or entry point failed to import
├── DataError                   a malformed point cloud or dataset file
├── WeightsError                missing, corrupt or mismatched weights or checkpoints
│   └── NonFiniteError          NaN or infinite weights, embeddings, logits or losses
├── StoreError                  an unreadable result record
├── DiskFull                    no room to write a file (also an OSError)
└── ThreatModelViolation        an adversarial example outside its attack's declared budget
"""

from __future__ import annotations


class BenchError(Exception):
    """Base of every error the harness raises on purpose; its message is one sentence for a user."""

    exit_code = 1


class UsageError(BenchError):
    """The user asked for something invalid; the CLI exits with code 2."""

    exit_code = 2


class UnknownPluginError(UsageError, KeyError):
    """A plugin name that no registry holds."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ConfigError(UsageError):
    """A config key or value that does not fit the plugin's Config dataclass."""


class SpecError(UsageError):
    """A run spec that cannot be read or expanded."""


class WriteError(UsageError):
    """An output path (--out, --home) that cannot be written: checked before any work starts,
    so an hour of computing is not lost to a typo in the last argument."""


class PluginLoadError(BenchError):
    """A plugin whose module or entry point raised on import."""


class DataError(BenchError):
    """A malformed point cloud or dataset file."""


class WeightsError(BenchError):
    """Missing, corrupt or mismatched model weights or checkpoints."""


class NonFiniteError(WeightsError):
    """NaN or infinite weights, embeddings, logits or training losses: every number computed
    from them would be wrong (argmax of NaN logits is class 0), so nothing is."""


class StoreError(BenchError):
    """A result record that cannot be read, or a result that cannot be stored."""


class DiskFull(BenchError, OSError):
    """No room to write a file: the disk is full, a quota or the file-size limit is reached.

    Raised by the atomic writes (`bench.storage.atomic`), which leave every file either whole
    and new or as it was, so the command stops in one sentence and nothing stored is lost. An
    OSError too, so code that carries on without a cache (a read-only home) still does.
    """


class ThreatModelViolation(BenchError):
    """An adversarial example that leaves its attack's declared threat model."""


SHOWN_LENGTH = 80


def shown(value: object) -> str:
    """A value as an error message quotes it: its repr, cut to 80 characters with "…", so a
    20 kB value pasted by mistake does not bury the sentence that says what is wrong."""
    return clipped(repr(value))


def clipped(text: str) -> str:
    """Text a user gave (a path, say), cut to 80 characters with "…"."""
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + "…"
