"""OpenAI-compatible endpoints, so any OpenAI client or chat UI can use the service.

Citations appear twice: as numbered references under the answer text, and as a structured
``citations`` field on the response (on the last chunk when streaming).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from rag.answer.base import Final, Token
from rag.answer.cite import format_references
from rag.question.scope import Filters
from rag.tools.chat import Turn
from rag.types import Answer

from ..deps import StateDep
from ..errors import responses
from ..schemas import ChatCompletionOut, ModelsOut, OpenAIChatIn
from ..sse import event

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL_ID = "policy-rag"


def content_of(answer: Answer) -> str:
    refs = format_references(answer.citations)
    return f"{answer.answer}\n\n参考来源：\n{refs}" if refs else answer.answer


@router.get("/models", response_model=ModelsOut)
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "policy-rag"}]}


@router.post(
    "/chat/completions",
    response_model=ChatCompletionOut,
    responses=responses(400, 413, 422, 503),
    openapi_extra={
        "responses": {
            "200": {
                "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ChatCompletionChunkOut"}}}
            }
        }
    },
)
async def completions(body: OpenAIChatIn, state: StateDep) -> Any:
    turns = [Turn(m.role, m.content) for m in body.messages]
    question = await state.gate.run(state.standalone, turns, lane=state.lane(*(t.content for t in turns)))
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    q = await state.gate.run(state.engine.analyse, question, Filters(), lane=state.lane(question))
    if not body.stream:
        answer = await state.gate.run(state.engine.answer, q, answer_mode="auto", lane=state.lane(question))
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model or MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content_of(answer)}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": [c.to_dict() for c in answer.citations],
            "answerable": answer.answerable,
            "mode": answer.mode,
            "prompt_version": answer.prompt_version,
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body_ = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model or MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return event(None, body_)

    def events() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        streamed = ""
        for e in state.engine.stream(q, answer_mode="auto"):
            if isinstance(e, Token):
                streamed += e.text
                yield chunk({"content": e.text})
            elif isinstance(e, Final):
                final: Answer = e.answer
                text = content_of(final)
                # the verified answer is authoritative: send what the streamed text lacks
                tail = text[len(streamed) :] if text.startswith(streamed) else "\n\n" + text
                if tail:
                    yield chunk({"content": tail})
                yield chunk(
                    {},
                    "stop",
                    citations=[c.to_dict() for c in final.citations],
                    answerable=final.answerable,
                    mode=final.mode,
                )
        yield event(None, "[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream")
