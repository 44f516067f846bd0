"""The write path: files on disk → reports → chunks → a new index generation.

The package's modules, in the order a file goes through them:

- ``read``:   one file → its text; decoding (UTF-8, GB18030), HTML, PDF, DOCX, Markdown, re-joined line breaks;
- ``clean``:  the text → the body, one paragraph a line, without page furniture; the header's and
              footer's metadata (title, 发布机构, 文号, dates, signature) kept;
- ``meta``:   who published a report and about which place (region with its parents, issuer,
              department, level), each with its provenance;
- ``subject``: the report's place weighed over every clue (title, header, signature, the roles of the
              places the body names), with a confidence;
- ``places``: China's administrative divisions (the gazetteer) and where their names stand in a text;
- ``load``:   the three above put together: one file → one ``Report`` (year, id, text with its
              document lines around the body);
- ``chunk``:  a report → chunks by section, never across a paragraph, with citable paragraph ids;
- ``limits``: per-document limits (inflated size, characters, chunks, seconds) and the cap on a
              question's embedded length;
- ``write``:  ``ingest`` and ``remove``: load, chunk, embed and commit in batches, one generation each;
- ``sample``: the project's FICTIONAL sample reports (the fixture of tests, ``make serve`` and the README).

Callers import the module they need (``rag.ingest.write.ingest``, ``rag.ingest.load.load_report``);
every module but ``write`` declares its public names in ``__all__``. The package re-exports nothing,
so that importing one module (``places``, for the question's scope) does not load the others (the
store, the embedder).
"""
