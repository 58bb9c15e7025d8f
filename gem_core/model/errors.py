"""Typed errors about a model checkpoint. Each names the checkpoint and says what is wrong,
so that `gem-ecg model check` and a scoring job can print one clear line."""
from __future__ import annotations

from gem_core.errors import NamedError


class CheckpointError(NamedError):
    """A checkpoint that cannot be used. `str()` is '<checkpoint>: <reason>'."""

    kind = "checkpoint"

    @property
    def checkpoint(self) -> str:
        return self.subject


class MissingFile(CheckpointError):
    """config.json, tokenizer.model, the index or a shard named by the index is absent."""

    kind = "missing_file"


class WrongModelType(CheckpointError):
    kind = "wrong_model_type"


class UnsupportedConfig(CheckpointError):
    """A config value this implementation does not handle (e.g. anyres tiling, another tower)."""

    kind = "unsupported_config"


class PickleRefused(CheckpointError):
    """Only safetensors are loaded: a pickle (.bin/.pt) checkpoint can run code when opened."""

    kind = "pickle_refused"


class KeyMismatch(CheckpointError):
    """Keys missing, unexpected or mis-shaped; the lists are kept for programs to read."""

    kind = "key_mismatch"

    def __init__(self, checkpoint: str, reason: str, missing=(), unexpected=(), misshaped=()):
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.misshaped = list(misshaped)
        super().__init__(checkpoint, reason)
