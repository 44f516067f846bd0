"""Questions: /ask, /chat (multi-turn, optional SSE), /search, and the health probes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from rag.chat import Turn
from rag.engine import check_question
from rag.errors import RagError

from ..deps import StateDep
from ..errors import error_body, responses
from ..schemas import AskIn, ChatIn, SearchIn
from ..sse import event

router = APIRouter(tags=["questions"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
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


@router.post("/ask", responses=responses(400, 413, 422, 503))
async def ask(body: AskIn, state: StateDep) -> dict[str, Any]:
    """Answer one question; the same schema as ``rag ask --json``."""
    filters, lane = body.filters.to_filters(), state.lane(body.question)
    answer = await state.gate.run(state.ask, body.question, filters, top_k=body.top_k, mode=body.mode, lane=lane)
    return answer.to_dict()


@router.post("/search", responses=responses(400, 413, 422, 503))
async def search(body: SearchIn, state: StateDep) -> list[dict[str, Any]]:
    passages = await state.gate.run(
        state.engine.search,
        body.query,
        k=body.k,
        filters=body.filters.to_filters(),
        mode=body.mode,
        lane=state.lane(body.query),
    )
    return [p.to_dict() for p in passages]


@router.post(
    "/chat",
    response_model=None,
    responses=responses(400, 413, 422, 503),
    openapi_extra={"responses": {"200": {"content": {"text/event-stream": {}}}}},
)
async def chat(body: ChatIn, state: StateDep) -> dict[str, Any] | StreamingResponse:
    """Multi-turn: the last user message is rewritten with the history into a standalone question.
    With ``stream``, SSE events: ``question``, then ``token``… (verified text), then ``citations`` and
    ``answer`` (authoritative, replaces the streamed text if the answer fell back), then ``done``; an error
    found before the stream starts is a 4xx JSON error, one found later an ``error`` event instead of ``done``."""
    turns = [Turn(m.role, m.content) for m in body.messages]
    question = await state.gate.run(state.standalone, turns, lane=state.lane(*(t.content for t in turns)))
    filters, lane = body.filters.to_filters(), state.lane(question)
    if not body.stream:
        answer = await state.gate.run(state.ask, question, filters, top_k=body.top_k, mode=body.mode, lane=lane)
        return {**answer.to_dict(), "standalone_question": question}

    # What the question or the filters get wrong is answered here, before the stream starts: 4xx JSON.
    await state.gate.run(state.engine.scope, check_question(question), filters, lane=lane)

    def events() -> Iterator[str]:
        yield event("question", {"standalone_question": question})
        try:
            for kind, payload in state.stream(question, filters, top_k=body.top_k, mode=body.mode):
                if kind == "token":
                    yield event("token", {"text": payload})
                else:
                    d = payload.to_dict()
                    yield event("citations", d["citations"])
                    yield event("answer", {**d, "standalone_question": question})
        except RagError as err:  # the response has started: the one error shape, as an `error` event
            yield event("error", error_body(type(err).__name__, str(err)))
            return
        yield event("done", {})

    return StreamingResponse(events(), media_type="text/event-stream")
