"""Helpers of the end-to-end spider tests: ``scrapy crawl`` in a subprocess, and its files.

Imported by the test modules of this folder as ``from replay_crawl import …`` (pytest puts the
folder on ``sys.path``, as ``tests/integration`` does for ``stores``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rdflib import Graph

REPO = Path(__file__).resolve().parents[2]


def crawl_env(tmp_path: Path, job_id: str, log_level: str = "INFO", **extra: str) -> dict[str, str]:
    """The environment of a files-only crawl into ``tmp_path`` (no Neo4j, no Elasticsearch)."""
    env = {
        **os.environ,
        **extra,
        "DATA_DIR": str(tmp_path),
        "JOB_ID": job_id,
        "LOG_LEVEL": log_level,
    }
    env.pop("NEO4J_URI", None)
    env.pop("ELASTICSEARCH_URL", None)
    return env


def run_crawl(spider: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl <spider> <args>`` from the repository, AutoThrottle off; must succeed."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider, *args]
    command += ["-s", "AUTOTHROTTLE_ENABLED=0"]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr[-4000:])
    return proc


def jsonl(folder: Path) -> list[dict[str, Any]]:
    """Every line of the ``*.jsonl`` parts in ``folder``, parsed, in part order."""
    lines: list[dict[str, Any]] = []
    for part in sorted(folder.glob("*.jsonl")):
        lines += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    return lines


def turtle_graph(folder: Path) -> Graph:
    """One graph of all the Turtle parts in ``folder`` (there must be at least one)."""
    parts = sorted(folder.glob("*.ttl"))
    if not parts:
        raise AssertionError(f"no Turtle part in {folder}")
    graph = Graph()
    for part in parts:
        graph.parse(part, format="turtle")
    return graph
