"""JSON-LD injected by JavaScript: found only by rendering the page in a real Chromium.

Runs ``scrapy crawl jsonld`` (default ``render=auto``) over two pages of the packaged sample
site: a static page (fetched over plain HTTP, never rendered) and a page whose JSON-LD a
script inserts after load (static fetch finds none, so it is rendered). One browser launch.

Chromium comes from Debian (``apt-get install -y chromium`` → ``/usr/bin/chromium``, or
``CHROMIUM_PATH``); never from ``playwright install``. Without it the test is skipped with a
clear message, or fails when ``MLENTORY_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.replay import ReplayServer, sample_root

pytestmark = [pytest.mark.services, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def require_services() -> bool:
    """True when CI demands real services (as ``tests/conftest.py`` defines it)."""
    return os.environ.get("MLENTORY_REQUIRE_SERVICES", "") not in ("", "0", "false")


@pytest.fixture
def chromium() -> str:
    """The Chromium executable, or skip/fail with a clear message."""
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        msg = (
            f"Chromium not found at {path}: install it with `apt-get install -y chromium` "
            "(Debian) or set CHROMIUM_PATH; never `playwright install`"
        )
        if require_services():
            pytest.fail(
                msg + " [MLENTORY_REQUIRE_SERVICES=1: a missing service fails]", pytrace=False
            )
        pytest.skip(msg)
    return path


def test_script_injected_json_ld_is_found_by_rendering(chromium: str, tmp_path: Path) -> None:
    with ReplayServer(sample_root("jsonld")) as server:
        base = server.url
        env = {
            **os.environ,
            "CHROMIUM_PATH": chromium,
            "DATA_DIR": str(tmp_path),
            "JOB_ID": "render",
            "LOG_LEVEL": "INFO",
        }
        env.pop("NEO4J_URI", None)
        env.pop("ELASTICSEARCH_URL", None)
        urls = f"urls={base}/models/js-injected.html,{base}/models/cellseg.html"
        command = [sys.executable, "-m", "scrapy", "crawl", "jsonld", "-a", urls,
                   "-s", "AUTOTHROTTLE_ENABLED=0"]  # fmt: skip
        proc = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240
        )
        paths = [r.path for r in server.requests]
    log = proc.stderr
    assert proc.returncode == 0, log[-4000:]
    folder = tmp_path / "normalized" / "jsonld" / "render"
    lines = [json.loads(line) for p in sorted(folder.glob("*.jsonl"))
             for line in p.read_text(encoding="utf-8").splitlines()]  # fmt: skip
    records = {r.primaryTopic: r for r in map(FAIR4MLRecord.model_validate, lines)}
    assert set(records) == {f"{base}/models/js-injected.html", f"{base}/models/cellseg.html"}
    depth = records[f"{base}/models/js-injected.html"].primary
    assert depth.name == "DepthLite"
    assert depth.version == "0.4.2"  # type: ignore[attr-defined]
    assert depth.license == ["https://spdx.org/licenses/BSD-3-Clause"]  # type: ignore[attr-defined]

    assert "'source/jsonld/render/requested': 1" in log
    assert "'source/jsonld/rendered': 1" in log  # only the script page went through Chromium
    assert "'playwright/browser_count': 1" in log
    assert "'playwright/page_count': 1" in log
    assert paths.count("/models/js-injected.html") == 2  # static fetch, then the browser
    assert paths.count("/models/cellseg.html") == 1
    assert "/img/banner.png" not in paths  # images are not fetched by the browser
