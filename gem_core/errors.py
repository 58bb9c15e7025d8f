"""Typed errors. Every error about an input names the record and the reason, so that a batch
job can turn it into an `error` row and go on."""
from __future__ import annotations


class GemError(Exception):
    """Base of every error gem-ecg raises on purpose."""


class NamedError(GemError):
    """An error about one named thing (a record, a checkpoint). `str()` is '<subject>: <reason>'."""

    kind = "named"

    def __init__(self, subject: str, reason: str):
        self.subject = subject
        self.reason = reason
        super().__init__(f"{subject}: {reason}")


class RecordError(NamedError):
    """A record that cannot be used."""

    kind = "record"

    @property
    def record(self) -> str:
        return self.subject


class MissingHeader(RecordError):
    kind = "missing_header"


class UnparsableHeader(RecordError):
    kind = "unparsable_header"


class MissingSignal(RecordError):
    kind = "missing_signal"


class TruncatedSignal(RecordError):
    kind = "truncated_signal"


class HeaderSignalMismatch(RecordError):
    kind = "header_signal_mismatch"


class UnknownFormat(RecordError):
    kind = "unknown_format"


class ZeroLength(RecordError):
    kind = "zero_length"


class BadGain(RecordError):
    kind = "bad_gain"


class NotEnoughLeads(RecordError):
    kind = "not_enough_leads"


class NoEcgChannels(RecordError):
    kind = "no_ecg_channels"


class UnreadableRecord(RecordError):
    """Anything else the reader could not make sense of (the reason says what)."""

    kind = "unreadable"
