"""The analyst workspace page (issue 4): placeholder until the page lands."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pages"], include_in_schema=False)
