"""The real app factory over the session's SAMPLE index: behind ``TestClient`` for most tests, under a live
uvicorn server on loopback where a real socket is the point (streaming, limits, signals, the page)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.settings import Settings
from service.app import create_app
from tests.conftest import SampleIndex
from tests.helpers import SCREENSHOTS, app_client, chromium, serve


@pytest.fixture(scope="session")
def sample_index_dir(sample_index: SampleIndex) -> Path:
    """The session's index of the project's SAMPLE corpus (fictional reports); read-only: tests that write
    copy it first (tests.helpers.copy_index)."""
    return sample_index.index


@pytest.fixture(scope="module")
def make_server() -> Iterator[Callable[..., str]]:
    """``make_server(**settings)`` starts a live server for those settings; all stop at module end."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> str:
            url: str = stack.enter_context(serve(create_app(Settings(**overrides))))
            return url

        yield start


@pytest.fixture(scope="module")
def make_client() -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: the real app for those settings behind ``TestClient`` (lifespan run);
    all are shut down at module end."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> TestClient:
            client: TestClient = stack.enter_context(app_client(**overrides))
            return client

        yield start


@pytest.fixture(scope="session")
def sample_client(sample_index: SampleIndex) -> Iterator[TestClient]:
    """One app over the sample index with the default settings, shared by every test that only reads."""
    with app_client(index_dir=sample_index.index) as client:
        yield client


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium (``tests.helpers.chromium``), one per page-test module; skips, saying why, when it
    is missing. Screenshots go to ``SCREENSHOTS``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as browser:
        yield browser
