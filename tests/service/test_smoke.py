from collections.abc import Callable
from pathlib import Path

import httpx


def test_server_answers_over_loopback(make_server: Callable[..., str], sample_index_dir: Path) -> None:
    url = make_server(index_dir=sample_index_dir)
    r = httpx.post(f"{url}/ask", json={"question": "云溪区接收了多少件行政复议申请？"}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert "96件" in body["answer"] and body["citations"][0]["region"] == "云溪区"
    assert httpx.get(f"{url}/readyz").json()["reports"] == 3
