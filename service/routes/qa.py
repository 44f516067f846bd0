"""Questions: /ask, /chat (multi-turn, optional SSE), /search, and the health probes.

Each question goes through the engine's pipeline (``rag.engine``): analysed once (a bad question or
filter is a 4xx before anything else runs), then retrieved and answered in the answer mode asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from rag.answer.base import Final, Token
from rag.errors import RagError
from rag.tools.chat import Turn

from ..deps import StateDep
from ..errors import error_body, responses
from ..schemas import (
    AnswerOut,
    AskIn,
    ChatAnswerOut,
    ChatIn,
    HealthOut,
    PassageOut,
    ReadyOut,
    SearchIn,
)
from ..sse import event

router = APIRouter(tags=["questions"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut)
def readyz(state: StateDep) -> dict[str, Any]:
    m = state.engine.data.manifest
    return {
        "status": "ready",
        "reports": m.reports,
        "chunks": m.chunks,
        "generation": m.generation,
        "embedder": m.embedder,
        "llm": state.llm.model if state.llm else None,
    }


@router.post(
    "/ask", response_model=AnswerOut, response_model_exclude_unset=True, responses=responses(400, 413, 422, 503)
)
async def ask(body: AskIn, state: StateDep) -> dict[str, Any]:
    """Answer one question; the same schema as ``rag ask --json``."""
    filters, lane = body.filters.to_filters(), state.lane(body.question)
    answer = await state.gate.run(
        state.engine.ask, body.question, filters=filters, top_k=body.top_k, answer_mode=body.mode, lane=lane
    )
    return answer.to_dict()


@router.post("/search", response_model=list[PassageOut], responses=responses(400, 413, 422, 503))
async def search(body: SearchIn, state: StateDep) -> list[dict[str, Any]]:
    passages = await state.gate.run(
        state.engine.search,
        body.query,
        k=body.k,
        filters=body.filters.to_filters(),
        retrieval=body.mode,
        lane=state.lane(body.query),
    )
    return [p.to_dict() for p in passages]


@router.post(
    "/chat",
    response_model=ChatAnswerOut,
    response_model_exclude_unset=True,
    responses=responses(400, 413, 422, 503),
    openapi_extra={
        "responses": {"200": {"content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ChatEvent"}}}}}
    },
)
async def chat(body: ChatIn, state: StateDep) -> Any:
    """Multi-turn: the last user message is rewritten with the history into a standalone question.
    With ``stream``, SSE events (``ChatEvent``): ``question``, then ``token``… (verified text), then
    ``citations`` and ``answer`` (authoritative, replaces the streamed text if the answer fell back), then
    ``done``; an error found before the stream starts is a 4xx JSON error, one found later an ``error``
    event instead of ``done``."""
    turns = [Turn(m.role, m.content) for m in body.messages]
    question = await state.gate.run(state.standalone, turns, lane=state.lane(*(t.content for t in turns)))
    filters, lane = body.filters.to_filters(), state.lane(question)
    # analysed once: what the question or the filters get wrong is answered here, before any stream (4xx)
    q = await state.gate.run(state.engine.analyse, question, filters, lane=lane)
    if not body.stream:
        answer = await state.gate.run(state.engine.answer, q, top_k=body.top_k, answer_mode=body.mode, lane=lane)
        return {**answer.to_dict(), "standalone_question": question}

    def events() -> Iterator[str]:
        yield event("question", {"standalone_question": question})
        try:
            for e in state.engine.stream(q, top_k=body.top_k, answer_mode=body.mode):
                if isinstance(e, Token):
                    yield event("token", {"text": e.text})
                elif isinstance(e, Final):
                    d = e.answer.to_dict()
                    yield event("citations", d["citations"])
                    yield event("answer", {**d, "standalone_question": question})
        except RagError as err:  # the response has started: the one error shape, as an `error` event
            yield event("error", error_body(type(err).__name__, str(err)))
            return
        yield event("done", {})

    return StreamingResponse(events(), media_type="text/event-stream")
