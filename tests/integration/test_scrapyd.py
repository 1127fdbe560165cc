"""Scrapyd end to end: a real Scrapyd 1.6 with basic auth, the project deployed as an egg.

One Scrapyd runs for the module, on a free loopback port, from a throwaway directory holding a
copy of the project's ``scrapyd.conf`` with every ``*_dir`` inside it and ``poll_interval = 1``.
The project is deployed with ``scrapyd-deploy`` (its ``scrapy.cfg`` ``[deploy]`` target reads
the URL and credentials from the environment), and the crawls Scrapyd starts run the egg's code,
not the source tree's. Scrapyd is stopped by its PID at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from rdflib import Graph

from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.storage import WRITING_MARKER, ReadStats, iter_jsonl, part_files

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PROJECT = "mlentory_crawl"
USER = "mlentory-test"
SAMPLE_MODELS = 13
JOB_TIMEOUT = 180


@dataclass
class Scrapyd:
    """A running Scrapyd: its base URL (with a trailing slash), credentials and directory."""

    url: str
    auth: tuple[str, str]
    home: Path
    proc: subprocess.Popen[bytes]

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        """GET a JSON endpoint with the credentials."""
        reply = requests.get(self.url + endpoint, params=params, auth=self.auth, timeout=30)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    def post(self, endpoint: str, data: list[tuple[str, str]]) -> dict[str, Any]:
        """POST form fields (repeatable, like ``setting``) to a JSON endpoint."""
        reply = requests.post(self.url + endpoint, data=data, auth=self.auth, timeout=60)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        assert result.get("status") == "ok", result
        return result

    def finished_runs(self, job: str) -> int:
        """How many runs of ``job`` have finished (a resumed job id runs more than once)."""
        jobs = self.get("listjobs.json", project=PROJECT)
        return sum(1 for j in jobs["finished"] if j["id"] == job)

    def state(self, job: str) -> str | None:
        """``status.json``'s state of ``job`` (its first run, for a job id used again)."""
        state: str | None = self.get("status.json", job=job, project=PROJECT)["currstate"]
        return state

    def wait_finished(self, job: str, runs: int = 1) -> None:
        """Poll until ``runs`` runs of ``job`` have finished.

        ``status.json`` answers ``finished`` as soon as a job id's first run has, so a job
        scheduled again under the same id is followed in ``listjobs.json``.
        """
        deadline = time.monotonic() + JOB_TIMEOUT
        while (self.state(job) != "finished") if runs == 1 else (self.finished_runs(job) < runs):
            assert self.proc.poll() is None, "scrapyd died"
            assert time.monotonic() < deadline, f"job {job} not finished in {JOB_TIMEOUT}s"
            time.sleep(0.5)

    def log(self, job: str) -> str:
        """The crawl log Scrapyd keeps for ``job``."""
        return (self.home / "logs" / PROJECT / "huggingface" / f"{job}.log").read_text("utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(home: Path, port: int) -> Path:
    """The project's scrapyd.conf with a free port, fast polling and every dir under ``home``."""
    config = ConfigParser(interpolation=None)
    config.read(REPO / "scrapyd.conf", encoding="utf-8")
    section = config["scrapyd"]
    assert section["bind_address"] == "127.0.0.1"
    assert section["jobstorage"] == "scrapyd.jobstorage.SqliteJobStorage"
    assert section["spiderqueue"] == "scrapyd.spiderqueue.SqliteSpiderQueue"
    assert not section["username"] and not section["password"]  # never in the file
    section["http_port"] = str(port)
    section["poll_interval"] = "1"
    section["max_proc"] = "2"
    for option in ("eggs_dir", "dbs_dir", "logs_dir", "jobs_dir"):
        section[option] = str(home / section[option])
    path = home / "scrapyd.conf"
    with path.open("w", encoding="utf-8") as fh:
        config.write(fh)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without project settings that would leak into Scrapyd's crawls."""
    env = {**os.environ, **extra}
    for var in (
        "SCRAPY_SETTINGS_MODULE", "JOB_ID", "SCRAPY_JOB", "NEO4J_URI", "ELASTICSEARCH_URL",
        "DATA_DIR", "HF_ENDPOINT", "SCRAPYD_BIND_ADDRESS", "SCRAPYD_HTTP_PORT",
    ):  # fmt: skip
        if var not in extra:
            env.pop(var, None)
    return env


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """A Scrapyd with basic auth on a free loopback port, stopped by PID afterwards."""
    home = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    write_config(home, port)
    password = secrets.token_urlsafe(16)
    env = clean_env(HOME=str(home), SCRAPYD_USERNAME=USER, SCRAPYD_PASSWORD=password)
    with (home / "scrapyd.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapyd", "--pidfile="],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Scrapyd(f"http://127.0.0.1:{port}/", (USER, password), home, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (home / "scrapyd.out").read_text()[-3000:]
            try:
                if server.get("daemonstatus.json")["status"] == "ok":
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "scrapyd did not start"
            time.sleep(0.3)
        yield server
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, tmp_path_factory: pytest.TempPathFactory) -> Scrapyd:
    """The project deployed with ``scrapyd-deploy`` from a clean copy of its sources."""
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "setup.py", "scrapy.cfg", "README.md"):
        shutil.copy(REPO / name, project / name)
    shutil.copytree(
        REPO / "mlentory_crawl", project / "mlentory_crawl",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )  # fmt: skip
    deploy = [sys.executable, "-m", "scrapyd_client.deploy", "--version", "r1"]
    user, password = scrapyd.auth

    refused = subprocess.run(
        deploy, cwd=project, capture_output=True, text=True, timeout=300,
        env=clean_env(SCRAPYD_URL=scrapyd.url, SCRAPYD_USERNAME=user, SCRAPYD_PASSWORD="wrong"),
    )  # fmt: skip
    assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr

    done = subprocess.run(
        deploy, cwd=project, capture_output=True, text=True, timeout=300,
        env=clean_env(SCRAPYD_URL=scrapyd.url, SCRAPYD_USERNAME=user, SCRAPYD_PASSWORD=password),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status": "ok"' in done.stdout and '"spiders":' in done.stdout
    return scrapyd


def test_unauthenticated_calls_are_refused(scrapyd: Scrapyd) -> None:
    for auth in (None, (USER, "wrong")):
        reply = requests.get(scrapyd.url + "daemonstatus.json", auth=auth, timeout=30)
        assert reply.status_code == 401
    reply = requests.post(
        scrapyd.url + "schedule.json", data={"project": PROJECT, "spider": "x"}, timeout=30
    )
    assert reply.status_code == 401


def test_the_egg_carries_the_project(deployed: Scrapyd) -> None:
    versions = deployed.get("listversions.json", project=PROJECT)["versions"]
    assert versions == ["r1"]
    assert "huggingface" in deployed.get("listspiders.json", project=PROJECT)["spiders"]
    egg = next((deployed.home / "eggs" / PROJECT).glob("r1*.egg"))
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert "settings = mlentory_crawl.settings" in entry_points  # how Scrapyd finds settings
    assert {"mlentory_crawl/resume.py", "mlentory_crawl/settings.py"} <= names
    # The egg alone is enough: import it with the source tree out of the way.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); import mlentory_crawl.spiders.huggingface,"
         " mlentory_crawl.pipelines.turtle_store as m; print(m.__file__)", str(egg)],
        cwd=deployed.home, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode == 0 and str(egg) in probe.stdout, probe.stderr


def schedule(
    server: Scrapyd, data_dir: Path, endpoint: str, *args: tuple[str, str], job: str = ""
) -> str:
    """Schedule the ``huggingface`` spider with arguments and settings; return the job id."""
    fields = [
        ("project", PROJECT), ("spider", "huggingface"), *args,
        ("setting", f"DATA_DIR={data_dir}"), ("setting", f"HF_ENDPOINT={endpoint}"),
        ("setting", "AUTOTHROTTLE_ENABLED=False"),
    ]  # fmt: skip
    if job:
        fields.append(("jobid", job))
    job_id: str = server.post("schedule.json", fields)["jobid"]
    return job_id


def read_files(data_dir: Path, job: str) -> dict[str, list[str]]:
    """Raw source ids, normalized and rdf record IRIs of one job; checks they are all sound."""
    raw_parts = part_files(data_dir / "raw", "jsonl", "huggingface")
    norm_parts = part_files(data_dir / "normalized", "jsonl", "huggingface")
    rdf_parts = part_files(data_dir / "rdf", "ttl", "huggingface")
    assert {p.parent.name for p in raw_parts + norm_parts + rdf_parts} == {job}
    assert not list(data_dir.rglob(WRITING_MARKER)) and not [
        p for p in rdf_parts if p.name.endswith(".partial")
    ]
    read = ReadStats()
    raw = [r["source_id"] for r in iter_jsonl(raw_parts, read)]
    normalized = [d["@id"] for d in iter_jsonl(norm_parts, read)]
    assert (read.partial_lines, read.bad_lines) == (0, 0)
    graph = Graph()
    for part in rdf_parts:
        graph.parse(part, format="turtle")
    rdf = [
        line.removeprefix("# @record ").strip()
        for part in rdf_parts
        for line in part.read_text("utf-8").splitlines()
        if line.startswith("# @record ")
    ]
    return {"raw": raw, "normalized": normalized, "rdf": rdf}


def test_schedule_with_arguments_and_settings(deployed: Scrapyd, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with ReplayServer(sample_root("huggingface")) as srv:
        job = schedule(
            deployed, data_dir, srv.url, ("limit", "7"), ("cards", "false"), ("_version", "r1")
        )
        deployed.wait_finished(job)
        card_requests = [r for r in srv.requests if r.path.endswith("/README.md")]
    assert deployed.finished_runs(job) == 1
    files = read_files(data_dir, job)  # the files are in a folder named after the Scrapyd job
    assert len(files["raw"]) == len(set(files["raw"])) == 7
    assert len(files["normalized"]) == len(files["rdf"]) == 7
    assert not card_requests  # cards=false reached the spider
    log = deployed.log(job)
    assert f"job {job}" in log and "'finish_reason': 'limit'" in log  # _job is the job id
    launched = (deployed.home / "scrapyd.out").read_text("utf-8")
    assert f"'-a', '_job={job}'" in launched and "'-a', '_version=r1'" in launched  # accepted
    assert "scheduler/unserializable" not in log and " ERROR: " not in log
    jobdir = deployed.home / "jobs" / PROJECT / "huggingface" / job
    assert (jobdir / "resume.sqlite").is_file()  # Scrapyd gave the job its own JOBDIR


def test_cancel_stops_cleanly_and_the_job_resumes(deployed: Scrapyd, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with ReplayServer(sample_root("huggingface"), delay=1.0) as srv:
        job = schedule(deployed, data_dir, srv.url)
        assert deployed.state(job) in ("pending", "running")
        deadline = time.monotonic() + JOB_TIMEOUT
        while (
            not part_files(data_dir / "raw", "jsonl")
            or sum(p.read_bytes().count(b"\n") for p in part_files(data_dir / "raw", "jsonl")) < 2
        ):
            assert deployed.finished_runs(job) == 0, deployed.log(job)[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        cancelled = deployed.post("cancel.json", [("project", PROJECT), ("job", job)])
        assert cancelled["prevstate"] == "running"
        deployed.wait_finished(job)
        log = deployed.log(job)
        assert "Received SIGINT, shutting down gracefully" in log
        assert "Spider closed (shutdown)" in log and "(clean stop)" in log
        assert " ERROR: " not in log
        stopped = read_files(data_dir, job)
        assert 2 <= len(stopped["raw"]) < SAMPLE_MODELS
        assert len(stopped["raw"]) == len(stopped["normalized"]) == len(stopped["rdf"])

        # Scheduling the same job id again resumes it from its JOBDIR.
        assert schedule(deployed, data_dir, srv.url, job=job) == job
        deployed.wait_finished(job, runs=2)
    files = read_files(data_dir, job)
    assert sorted(files["raw"]) == sorted(set(files["raw"])) and len(files["raw"]) == 13
    assert len(set(files["normalized"])) == len(files["normalized"]) == SAMPLE_MODELS
    assert sorted(files["rdf"]) == sorted(files["normalized"])
    log = deployed.log(job)
    assert log.count("Spider closed (finished)") == 1 and " ERROR: " not in log
