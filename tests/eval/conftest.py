"""Fixtures for the eval tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DEV_GOLD = ROOT.parent / "shared" / "gold" / "dev.jsonl"


@pytest.fixture
def dev_gold_path() -> Path:
    """The shared dev gold set, read in place (never copied); skips when this checkout has none."""
    if not DEV_GOLD.is_file():
        pytest.skip(f"no shared gold set at {DEV_GOLD}")
    return DEV_GOLD
