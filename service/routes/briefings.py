"""Briefing exports (POST /briefings → .md or .docx) and comparison tables (POST /compare → JSON,
.csv or .md). Thin: the logic is ``rag.tools.brief`` and ``rag.tools.compare``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rag.engine import check_question
from rag.errors import QueryError
from rag.tools import brief
from rag.tools import compare as cmp

from ..deps import StateDep
from ..errors import responses
from ..schemas import BriefingIn, CompareIn, ComparisonOut
from ..state import AppState

router = APIRouter(tags=["briefings"])

MEDIA = {
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
}


def attachment(content: bytes, fmt: str, stem: str, title: str) -> Response:
    """A download: an ASCII file name plus the UTF-8 one (RFC 6266) made from ``title``."""
    safe = "".join(ch for ch in title if ch not in '\\/:*?"<>|\r\n').strip()[:60] or stem
    disposition = f"attachment; filename=\"{stem}.{fmt}\"; filename*=UTF-8''{quote(f'{safe}.{fmt}')}"
    return Response(content, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


def _briefing(body: BriefingIn, state: AppState) -> brief.Briefing:
    data = state.engine.data
    if body.citations:
        items = [c.model_dump() for c in body.citations]
        return brief.from_citations(brief.resolve_citations(data, items), title=body.title, question=body.question)
    if body.answer is not None:
        return brief.from_answer_json(data, body.answer.model_dump(), title=body.title)
    if body.question and body.question.strip():
        answer = state.engine.ask(body.question, filters=body.filters.to_filters(), answer_mode="auto")
        return brief.from_answer(answer, title=body.title)
    raise QueryError("a briefing needs one of: citations (non-empty), answer, or question")


def _content(*formats: str, json_schema: str | None = None) -> dict[str, Any]:
    """The 200 response's media types: text formats as strings, .docx as binary, JSON by its schema."""
    content: dict[str, Any] = {
        MEDIA[f].split(";")[0]: {"schema": {"type": "string", **({"format": "binary"} if f == "docx" else {})}}
        for f in formats
    }
    if json_schema:
        content["application/json"] = {"schema": {"$ref": f"#/components/schemas/{json_schema}"}}
    return {"responses": {"200": {"content": content}}}


@router.post(
    "/briefings",
    response_class=Response,
    responses=responses(400, 404, 413, 422, 503),
    openapi_extra=_content("md", "docx"),
)
async def briefing(body: BriefingIn, state: StateDep) -> Response:
    """A briefing (简报) to download: every quote verbatim with its reference; in .docx each quote
    also has a footnote (reference, report id, paragraph id)."""
    b = await state.gate.run(_briefing, body, state, lane=state.lane(body.question))
    if body.format == "docx":
        content = await run_in_threadpool(brief.to_docx, b)
    else:
        content = brief.to_markdown(b).encode("utf-8")
    return attachment(content, body.format, "briefing", b.title)


@router.post(
    "/compare",
    response_model=ComparisonOut,
    response_model_exclude_unset=True,
    responses=responses(400, 413, 422, 503),
    openapi_extra=_content("csv", "md"),
)
async def compare(body: CompareIn, state: StateDep) -> Any:
    """One row per report in scope: region, year, title, the figure as written (or 未说明), the quote
    and its reference. ``format``: json (default), csv (UTF-8 with BOM, for spreadsheets) or md."""
    question = check_question(body.question)
    filters = body.filters.to_filters()
    table = await state.gate.run(cmp.compare, state.engine, question, filters, lane=state.lane(question))
    if body.format == "csv":
        return attachment(cmp.to_csv(table).encode("utf-8-sig"), "csv", "compare", question)
    if body.format == "md":
        return attachment(cmp.to_markdown(table).encode("utf-8"), "md", "compare", question)
    return table.to_dict()
