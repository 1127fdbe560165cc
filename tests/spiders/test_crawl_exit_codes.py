"""The project's ``scrapy crawl`` command: exit 1 when the crawl finished with a failure reason.

The subprocess tests run the real command line (``python -m scrapy crawl``), which finds the
command through ``COMMANDS_MODULE``; the PwC end-to-end test with a failed dump
(``tests/spiders/test_pwc_spider.py``) checks a source failure the same way.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from replay_crawl import REPO, crawl_env

from mlentory_crawl.commands.crawl import Command, is_failure_reason
from mlentory_crawl.replay import ReplayServer, sample_root


@pytest.mark.parametrize(
    ("reason", "failed"),
    [
        ("neo4j_unavailable", True),
        ("es_unavailable", True),
        ("list_page_failed", True),  # huggingface
        ("index_page_failed", True),  # bioimageio
        ("dump_failed", True),  # paperswithcode
        ("finished", False),
        ("limit", False),
        ("shutdown", False),  # Ctrl-C: resumable, not a failure
        ("closespider_itemcount", False),
        (None, False),
    ],
)
def test_failure_reasons(reason: str | None, failed: bool) -> None:
    assert is_failure_reason(reason) is failed


def test_the_project_command_replaces_scrapys() -> None:
    from scrapy.cmdline import _get_commands_dict
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("mlentory_crawl.settings")
    commands = _get_commands_dict(settings, inproject=True)
    assert type(commands["crawl"]) is Command
    assert "load" in commands


def closed_port() -> int:
    """A local TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrapy_crawl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "huggingface", *args]
    command += ["-s", "AUTOTHROTTLE_ENABLED=0"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_a_store_down_at_start_exits_non_zero(tmp_path: Path) -> None:
    port = closed_port()
    env = crawl_env(tmp_path, "exit-store-down")
    env |= {"NEO4J_URI": f"bolt://127.0.0.1:{port}", "NEO4J_CONNECT_TIMEOUT": "1"}
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"  # never asked: the crawl stops first
    proc = scrapy_crawl(env, "-a", "limit=1")
    assert proc.returncode == 1, proc.stderr[-4000:]
    assert f"Neo4j is configured but unusable: Neo4j at bolt://127.0.0.1:{port}" in proc.stderr
    assert (
        "The huggingface crawl failed (finish_reason neo4j_unavailable): exit code 1" in proc.stderr
    )


@pytest.mark.slow
def test_a_normal_crawl_exits_zero(tmp_path: Path) -> None:
    env = crawl_env(tmp_path, "exit-ok")
    assert "NEO4J_URI" not in env and "ELASTICSEARCH_URL" not in env
    with ReplayServer(sample_root("huggingface")) as server:
        env["HF_ENDPOINT"] = server.url
        proc = scrapy_crawl(env, "-a", "limit=2", "-a", "cards=false")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "'finish_reason': 'limit'" in proc.stderr
    assert "crawl failed" not in proc.stderr
    assert len(list((tmp_path / "normalized" / "huggingface" / "exit-ok").glob("*.jsonl"))) == 1


@pytest.mark.slow
def test_a_bad_argument_still_exits_one(tmp_path: Path) -> None:
    """Scrapy's own exit code for a crawl that cannot start is kept."""
    env = {**crawl_env(tmp_path, "exit-bad-arg"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    proc = scrapy_crawl(env, "-a", "limit=-3")
    assert proc.returncode == 1, proc.stderr[-4000:]
    assert "limit" in proc.stderr
    assert "crawl failed (finish_reason" not in proc.stderr
