"""The app factory: everything is built here, once; a missing index or key fails start-up clearly."""

from __future__ import annotations

from fastapi import FastAPI

from rag.engine import Engine
from rag.prompts import load_prompt
from rag.settings import Settings

from . import errors
from .routes import briefings, openai_compat, pages, qa, reports
from .state import LLM, AppState


def build_llm(settings: Settings) -> LLM | None:
    if not settings.llm_configured():  # ConfigError when half configured
        return None
    return LLM(
        client=settings.make_llm_client(),
        model=settings.llm_model or "",
        answer_prompt=load_prompt(settings.prompts_dir / settings.answer_prompt),
        rewrite_prompt=load_prompt(settings.prompts_dir / settings.rewrite_prompt),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    embedder = settings.make_embedder()
    engine = Engine(settings.index_dir, embedder, top_k=settings.top_k)  # IndexMissingError names the dir
    app = FastAPI(
        title="法治政府建设报告问答 (policy-rag)",
        version="0.1.0",
        description="Cited answers over 法治政府建设情况报告: each claim with its report, paragraph and quote.",
    )
    app.state.rag = AppState(settings=settings, engine=engine, embedder=embedder, llm=build_llm(settings))
    errors.install(app)
    app.include_router(qa.router)
    app.include_router(reports.router)
    app.include_router(openai_compat.router)
    app.include_router(briefings.router)
    app.include_router(pages.router)
    pages.install(app)  # /static and the HTML permalinks (Accept: text/html)
    return app
