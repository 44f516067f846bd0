"""``make fuzz``: schemathesis over every route of a live server on 127.0.0.1, with and without the
API key, failing on any 5xx.

Builds an index of the sample corpus in a temporary directory, starts ``rag serve`` on a free
loopback port (twice: no key configured, then a key sent with every request), runs ``st run`` with the
``not_a_server_error`` check and a bounded number of examples per operation, and exits non-zero when
schemathesis found a server error. Traffic goes to 127.0.0.1 only.

    python -m eval.fuzz [--max-examples 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

KEY = "fuzz-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_index(root: Path) -> Path:
    rag = [sys.executable, "-m", "rag.cli"]
    subprocess.run([*rag, "sample", str(root / "corpus")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*rag, "ingest", str(root / "corpus"), "--index", str(root / "index")], check=True)
    return root / "index"


def fuzz(index: Path, *, key: str | None, max_examples: int, log: Path) -> int:
    port = free_port()
    env = {**os.environ, "RAG_PORT": str(port), "RAG_HOST": "127.0.0.1", "RAG_WRITE_RATE": "100000/minute"}
    env.pop("RAG_API_KEY", None)
    if key:
        env["RAG_API_KEY"] = key
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--index", str(index)], env=env, stdout=out, stderr=out
        )
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise SystemExit(f"the server did not start; see {log}")
            st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
            cmd = [
                st, "run", f"{url}/openapi.json",
                "--checks", "not_a_server_error",
                "--max-examples", str(max_examples),
                "--phases", "examples,coverage,fuzzing",
                "--seed", "9",
                "--request-timeout", "60",
                "--workers", "1",
                "--no-color",
            ]  # fmt: skip
            if key:
                cmd += ["--header", f"X-API-Key: {key}"]
            print(f"$ {' '.join(cmd)}", flush=True)
            # run in the work directory: schemathesis keeps a .schemathesis/ cache where it runs
            return subprocess.run(cmd, cwd=log.parent, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}).returncode
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="rag-fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        index = build_index(root)
        failed = []
        for key in (None, KEY):
            label = "with the key" if key else "without a key"
            print(f"\n== schemathesis, {label} ==", flush=True)
            work = root / ("keyed" if key else "open")
            shutil.copytree(index, work)
            if fuzz(work, key=key, max_examples=args.max_examples, log=root / f"server-{work.name}.log"):
                failed.append(label)
        if failed:
            raise SystemExit(f"schemathesis found failures ({', '.join(failed)}); server logs in {root}")
        print("schemathesis: no server errors, with and without the key")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
