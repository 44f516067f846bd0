"""Briefing exports and comparison tables (issue 4): placeholder until they land."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["briefings"])
