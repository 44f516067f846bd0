"""Question answering with verbatim citations over Chinese rule-of-law government reports.

Pipeline, one module a stage: ``load`` (read, clean, metadata) → ``chunk`` (by section) → ``embed``
→ ``index`` (FAISS + BM25, atomic generations) → ``retrieve`` (hybrid, RRF) → ``answer`` (extractive)
→ ``cite``. ``ingest`` is the write path, ``engine.Engine`` the read path (scope → retrieve → answer,
each stage once; the contracts between stages in ``pipeline``), built by ``runtime.build_runtime``.
"""

from .errors import (
    BinaryFileError,
    ConfigError,
    DecodeError,
    DuplicateDocumentError,
    EmbedderError,
    EmptyDocumentError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    QueryError,
    RagError,
    ReportNotFoundError,
    UnsupportedFormatError,
)
from .types import Answer, Chunk, Citation, Passage, Report

__all__ = [
    "Answer",
    "BinaryFileError",
    "Chunk",
    "Citation",
    "ConfigError",
    "DecodeError",
    "DuplicateDocumentError",
    "EmbedderError",
    "EmptyDocumentError",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexMissingError",
    "InputError",
    "Passage",
    "QueryError",
    "RagError",
    "Report",
    "ReportNotFoundError",
    "UnsupportedFormatError",
]
