"""Every error the library raises, in one place.

    RagError
    ├── InputError                 a file that cannot be ingested (always names the file)
    │   ├── UnsupportedFormatError
    │   ├── EmptyDocumentError
    │   ├── BinaryFileError
    │   ├── DecodeError
    │   └── LimitExceededError     over a per-document limit (inflated size, characters, chunks, time)
    ├── IndexMissingError          no index at the given directory
    ├── IndexMismatchError         index built with another embedder / chunker / format
    ├── IndexCorruptError          manifest or files unreadable
    ├── IndexBusyError             another writer holds the lock
    ├── DuplicateDocumentError     the same content is indexed already, under another file name
    ├── IngestCancelledError       an ingest stopped on request (shutdown); nothing was written
    ├── ReportNotFoundError        unknown report id / paragraph id
    ├── MetadataError              a metadata field or value that cannot be stored (unknown field, bad
    │                              year, a malformed row of a metadata file: named), nothing changed
    ├── QueryError                 a question or filter that cannot be served
    ├── EmbedderError              an embedding backend failed or is misconfigured
    └── ConfigError                settings that cannot work

The HTTP service maps these to statuses in one handler; the CLI prints ``str(err)``.
"""

from __future__ import annotations

from pathlib import Path


class RagError(Exception):
    """Base of all library errors."""


class InputError(RagError):
    """A file that cannot be ingested. ``path`` names it; the message starts with it."""

    reason = "cannot be ingested"

    def __init__(self, path: str | Path, detail: str = "") -> None:
        self.path = str(path)
        self.detail = detail
        msg = f"{self.path}: {self.reason}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class UnsupportedFormatError(InputError):
    reason = "unsupported file type"


class EmptyDocumentError(InputError):
    reason = "no text to ingest"


class BinaryFileError(InputError):
    reason = "binary content, not a text document"


class DecodeError(InputError):
    reason = "undecodable bytes (tried UTF-8 and GB18030)"


class LimitExceededError(InputError):
    """A document over one of the per-document limits (``rag.ingest.limits.DocLimits``); the detail names it."""

    reason = "over a limit"


class IndexMissingError(RagError):
    pass


class IndexMismatchError(RagError):
    pass


class IndexCorruptError(RagError):
    pass


class IndexBusyError(RagError):
    """Another writer holds the index's writer lock. ``public``: the message without the holder's command
    line (which may name server paths), for clients of the service."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


class DuplicateDocumentError(RagError):
    """A document whose content is indexed already under another file name (``duplicate_of``, as
    ``report_id``); it is skipped. ``path`` names it; the message starts with it."""

    def __init__(self, path: str | Path, duplicate_of: str, report_id: str) -> None:
        self.path = str(path)
        self.duplicate_of = duplicate_of
        self.report_id = report_id
        super().__init__(f"{self.path}: same content as {duplicate_of} (indexed as {report_id}); skipped")


class IngestCancelledError(RagError):
    pass


class ReportNotFoundError(RagError):
    pass


class MetadataError(RagError):
    """Metadata given or corrected by a person that cannot be stored: an unknown field, a value that is
    not one (a year that is not a year), a malformed row of a ``--meta`` file. The message names the
    field, the value and, for a file, the file and its line; nothing stored has changed."""


class QueryError(RagError):
    pass


class EmbedderError(RagError):
    pass


class ConfigError(RagError):
    pass
