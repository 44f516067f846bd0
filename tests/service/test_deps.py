"""Writes are closed by default, the key is checked before the body is read, cross-origin writes are
refused and writes are rate-limited per client: the real app over a copy of the sample index, behind
``TestClient``, or a live uvicorn server on 127.0.0.1 where the test needs a socket (a request head sent
without its body) or ``rag serve`` itself."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.helpers import Client, Response, copy_index, free_port

TIMEOUT = 30
KEY = "test-key"
REPORT = "示例县关于2024年法治政府建设情况的报告（示例）\n一、主要举措\n（一）接收行政复议申请64件。\n".encode()


def copy(sample_index_dir: Path, tmp_path: Path) -> Path:
    return copy_index(sample_index_dir, tmp_path / "index")


def upload(api: Client, headers: dict[str, str] | None = None) -> Response:
    files = {"file": ("示例县.txt", REPORT, "text/plain")}
    return api.post("/reports", files=files, headers=headers or {})


def test_writes_are_closed_without_a_key(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy(sample_index_dir, tmp_path)
    api = make_client(index_dir=index)
    before = api.get("/readyz").json()
    rid = api.get("/reports").json()[0]["report_id"]
    for r in (
        upload(api),
        upload(api, {"X-API-Key": "anything"}),
        api.delete(f"/reports/{rid}"),
        api.patch(f"/reports/{rid}", json={"year": 2020}),
    ):
        assert r.status_code == 403, r.text
        assert "RAG_API_KEY" in r.json()["error"]["message"]
    assert api.get("/readyz").json() == before
    assert not (index / "uploads").exists() or not any((index / "uploads").iterdir())


def test_anonymous_writes_only_when_allowed_and_never_cross_origin(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path
) -> None:
    api = make_client(index_dir=copy(sample_index_dir, tmp_path), allow_anonymous_writes=True)
    r = upload(api, {"Origin": "https://evil.example"})  # what a web page's form POST carries
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]["message"]
    assert upload(api, {"Origin": str(api.base_url).rstrip("/")}).status_code == 202  # the service's own page
    assert upload(api).status_code == 202  # curl, scripts: no Origin


def test_cors_allows_no_origin_unless_configured(
    make_client: Callable[..., TestClient], sample_client: TestClient, sample_index_dir: Path, tmp_path: Path
) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    r: Response = sample_client.options("/ask", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    opened = make_client(index_dir=copy(sample_index_dir, tmp_path), cors_origins=["https://app.example"], api_key=KEY)
    r = opened.options("/ask", headers=preflight)
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    r = upload(opened, {"Origin": "https://app.example", "X-API-Key": KEY})
    assert r.status_code == 202, r.text


def raw_request(url: str, head: str) -> bytes:
    """Send only the request head (no body) and read the response: a server that waited for the body
    announced by Content-Length would not answer at all."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as s:
        s.sendall(head.encode("latin-1"))
        return s.recv(65536)


@pytest.mark.parametrize(("settings", "status"), [({"api_key": KEY}, b"401"), ({}, b"403")])
@pytest.mark.parametrize(
    "request_line",
    [
        "POST /reports HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 10000000",
        # a JSON body under RAG_JSON_MAX_BYTES (a larger one is refused from its Content-Length alone)
        "PATCH /reports/x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 1000",
    ],
)
def test_the_key_is_checked_before_the_body_is_read(
    make_server: Callable[..., str], sample_index_dir: Path, settings: dict[str, str], status: bytes, request_line: str
) -> None:
    url = make_server(index_dir=sample_index_dir, **settings)
    head = f"{request_line}\r\nHost: 127.0.0.1\r\n\r\n"
    answer = raw_request(url, head)
    assert answer.split(b" ", 2)[1] == status, answer[:200]


def test_an_oversized_upload_is_refused_before_it_is_read(
    make_server: Callable[..., str], sample_index_dir: Path
) -> None:
    url = make_server(index_dir=sample_index_dir, api_key=KEY, upload_max_bytes=1_000_000)
    head = (
        f"POST /reports HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1073741824\r\n\r\n"
    )
    answer = raw_request(url, head)
    assert answer.split(b" ", 2)[1] == b"413", answer[:200]


def test_writes_are_rate_limited_per_client(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path
) -> None:
    api = make_client(index_dir=copy(sample_index_dir, tmp_path), api_key=KEY, write_rate="2/minute")
    headers = {"X-API-Key": KEY}
    codes = [api.delete("/reports/no-such", headers=headers).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    r = api.delete("/reports/no-such", headers=headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "2 per 1 minute" in r.json()["error"]["message"]


@pytest.mark.slow  # a subprocess
def test_the_start_up_log_says_writes_are_disabled(sample_index_dir: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    env["RAG_PORT"] = str(free_port())
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(sample_index_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert server.stderr is not None
        for line in server.stderr:  # ends at start-up complete (or when the process exits)
            lines.append(line)
            if "startup complete" in line or len(lines) > 200:
                break
    finally:
        server.terminate()
        server.wait(timeout=60)
    log = "".join(lines)
    assert "writes are disabled: set RAG_API_KEY" in log, log
