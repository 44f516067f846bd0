"""Upload jobs that outlive the server (the real app factory over copies of the sample index, behind
``TestClient``; one app after another on the same index is a restart): ``GET /jobs/{id}`` and
``GET /jobs`` answer after it, a job a stopped server left reads ``interrupted`` and ``POST
/jobs/{id}/retry`` completes it from the stored file, retention drops old jobs, and an upload commits
while a long CLI-style ingest of the same index is still embedding."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rag import store
from rag.ingest.write import ingest
from service import uploads
from service.jobs import JOBS_DB, Job, JobStore
from tests.helpers import app_client, copy_index
from tests.rag.ingest.test_concurrent_writes import GatedEmbedder
from tests.service.test_jobs import KEY, REPORT, finished, stored, submit

KEYED = {"X-API-Key": KEY}


def test_a_job_answers_after_a_restart_and_is_listed(sample_index_dir: Path, tmp_path: Path) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    with app_client(index_dir=index, api_key=KEY) as api:
        job = finished(api, submit(api, "示例县.txt", REPORT.encode())["job_id"])
    assert job["status"] == "succeeded" and job["attempts"] == 1
    with app_client(index_dir=index, api_key=KEY) as api:
        again = api.get(f"/jobs/{job['job_id']}").json()
        assert again["status"] == "succeeded" and again["result"] == job["result"]
        listed = api.get("/jobs").json()
        assert [j["job_id"] for j in listed] == [job["job_id"]]
        assert api.get("/jobs", params={"status": "failed"}).json() == []
        assert all("stored" not in j for j in listed)  # the server path is never shown


def index_embedder(index: Path) -> GatedEmbedder:
    """The fake embedder under the id and dimension of ``index``'s (what the store checks), held at its
    gate until ``release`` is set."""
    manifest = store.read_manifest(index)
    embedder = GatedEmbedder()
    embedder._dim, embedder._id = manifest.dim, manifest.embedder
    return embedder


def _left_running(index: Path, name: str, data: bytes) -> Job:
    """What a server killed mid-upload leaves: the upload stored, its job recorded as running."""
    kept = uploads.store(index / "uploads", name, data)
    job = Job("0123456789abcdef0123456789abcdef", name, str(kept.resolve()), status="running", attempts=1)
    jobs = JobStore(index / JOBS_DB)
    jobs.put(job)
    jobs.close()
    return job


def test_a_job_a_killed_server_left_reads_interrupted_and_retry_completes_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    before = store.read_manifest(index)
    left = _left_running(index, "示例县.txt", REPORT.encode())
    with app_client(index_dir=index, api_key=KEY) as api:
        job = api.get(f"/jobs/{left.id}").json()
        assert job["status"] == "interrupted" and job["committed"] is False
        assert "before this upload was committed" in job["error"]["message"]
        assert job["retry"] == f"/jobs/{left.id}/retry"
        assert store.read_manifest(index) == before  # nothing else changed
        assert len(stored(index)) == 1  # kept for the retry, not swept
        assert api.post(f"/jobs/{left.id}/retry").status_code == 401  # writes need the key
        r = api.post(f"/jobs/{left.id}/retry", headers=KEYED)
        assert r.status_code == 202, r.text
        done = finished(api, left.id)
        assert done["status"] == "succeeded" and done["result"]["status"] == "added" and done["attempts"] == 2
        assert api.post(f"/jobs/{left.id}/retry", headers=KEYED).status_code == 409  # ended
        answer = api.post("/ask", json={"question": "示例县接收了多少件行政复议申请？"}).json()["answer"]
        assert "64件" in answer


def test_a_job_whose_report_was_committed_reads_interrupted_but_committed(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Killed after the commit, before the job was recorded as done: the report is in, nothing to retry."""
    index = copy_index(sample_index_dir, tmp_path / "index")
    left = _left_running(index, "示例县.txt", REPORT.encode())
    embedder = index_embedder(index)
    embedder.release.set()
    ingest([Path(left.stored)], index, embedder)  # committed; the job still reads running
    with app_client(index_dir=index, api_key=KEY) as api:
        job = api.get(f"/jobs/{left.id}").json()
        assert job["status"] == "interrupted" and job["committed"] is True and job["retry"] is None
        assert api.post(f"/jobs/{left.id}/retry", headers=KEYED).status_code == 409


def test_retry_on_start(sample_index_dir: Path, tmp_path: Path) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    left = _left_running(index, "示例县.txt", REPORT.encode())
    with app_client(index_dir=index, api_key=KEY, job_retry_on_start=True) as api:
        assert finished(api, left.id)["status"] == "succeeded"


def test_jobs_past_their_retention_are_dropped_with_their_files(sample_index_dir: Path, tmp_path: Path) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    left = _left_running(index, "示例县.txt", REPORT.encode())
    with app_client(index_dir=index, api_key=KEY) as api:
        assert api.get(f"/jobs/{left.id}").json()["status"] == "interrupted"
    time.sleep(0.05)
    with app_client(index_dir=index, api_key=KEY, job_retention_hours=1e-6) as api:
        r = api.get(f"/jobs/{left.id}")
        assert r.status_code == 404 and "RAG_JOB_RETENTION_HOURS" in r.json()["error"]["message"]
    assert stored(index) == []  # the interrupted job's file went with it


def test_an_upload_commits_while_a_long_ingest_embeds(sample_index_dir: Path, tmp_path: Path) -> None:
    """A CLI-style ingest (another writer of the same index) is held while embedding; the upload's job
    takes the writer lock only to commit, so it succeeds meanwhile instead of waiting for the ingest."""
    index = copy_index(sample_index_dir, tmp_path / "index")
    doc = tmp_path / "held.txt"
    doc.write_text(REPORT.replace("示例县", "示例区").replace("64件", "12件"), encoding="utf-8")
    embedder = index_embedder(index)
    errors: list[BaseException] = []

    def held() -> None:
        try:
            ingest([doc], index, embedder)
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=held)
    with app_client(index_dir=index, api_key=KEY, write_lock_wait=5) as api:
        thread.start()
        try:
            assert embedder.entered.wait(30)
            job = finished(api, submit(api, "示例县.txt", REPORT.encode())["job_id"])
            assert job["status"] == "succeeded", job
            assert thread.is_alive()  # the ingest is still embedding
        finally:
            embedder.release.set()
            thread.join(60)
    assert not errors
    sources = {r.source for r in store.load(index).reports.values()}
    assert {"示例县.txt", "held.txt"} <= sources


def test_a_write_that_cannot_get_the_lock_answers_409_without_the_holders_command(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    with app_client(index_dir=index, api_key=KEY, write_lock_wait=0.2) as api:
        report_id = api.get("/reports").json()[0]["report_id"]
        with store.writer_lock(index, purpose="compact"):
            holder = store.lock_holder(index)
            r = api.delete(f"/reports/{report_id}", headers=KEYED)
        assert holder is not None
        assert r.status_code == 409
        message = r.json()["error"]["message"]
        assert f"since {holder.since}" in message and "RAG_WRITE_LOCK_WAIT" in message
        assert holder.command not in message and str(index) not in message
        assert api.delete(f"/reports/{report_id}", headers=KEYED).status_code == 200  # released: it goes through
