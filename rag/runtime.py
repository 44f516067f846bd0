"""The composition root of the read path: everything a question needs, built once from ``Settings``.

``build_runtime(settings)`` is what the CLI, the service's app factory, the bench and the tests call:
the query embedder, the LLM when one is configured (wired here and nowhere else) and the ``Engine``
over the index. A missing index (``IndexMissingError``), an index built with another embedder, or a
prompt file that is not there fails here, at start-up, naming what is wrong. Settings themselves are
validated when they are made (``Settings`` model validator).

How a process gives the CPU away to answers (``lower_thread_priority``, ``lower_process_priority``) is
``rag.priority``'s, re-exported here: it must be importable before anything heavy (``rag.entry``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .answer.llm import LLM
from .answer.prompts import load_prompt
from .engine import Engine
from .priority import lower_process_priority, lower_thread_priority
from .settings import Settings

__all__ = ["Runtime", "build_llm", "build_runtime", "lower_process_priority", "lower_thread_priority"]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    llm: LLM | None


def build_llm(settings: Settings) -> LLM | None:
    """The configured LLM with its prompts, or None when no LLM is configured."""
    if not settings.llm_enabled:
        return None
    return LLM(
        client=settings.make_llm_client(),
        model=settings.llm_model or "",
        answer_prompt=load_prompt(settings.prompts_dir / settings.answer_prompt),
        rewrite_prompt=load_prompt(settings.prompts_dir / settings.rewrite_prompt),
    )


def build_runtime(settings: Settings, *, long_lane: bool = False, replies: dict[str, str] | None = None) -> Runtime:
    """``long_lane``: long questions get an embedder instance of their own (the service);
    ``replies``: memoise the LLM's replies by request (an eval comparing answer policies)."""
    llm = build_llm(settings)
    engine = Engine(
        settings.index_dir,
        settings.make_query_embedder(long_lane=long_lane),
        top_k=settings.top_k,
        llm=llm,
        replies=replies,
    )
    return Runtime(settings=settings, engine=engine, llm=llm)
