"""``config.int_setting``: the one range check of the project's integer settings."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from scrapy.settings import Settings

from mlentory_crawl.config import ConfigError, int_setting
from mlentory_crawl.sinks.neo4j import Neo4jConfig
from mlentory_crawl.spiders.endpoints import EndpointConfig
from mlentory_crawl.spiders.pwc_config import PwcConfig


def test_int_setting_reads_defaults_and_strings() -> None:
    assert int_setting(Settings(), "X", 7) == 7
    assert int_setting(Settings({"X": "12"}), "X", 7) == 12
    assert int_setting(Settings({"X": 5}), "X", 7, minimum=5, maximum=5) == 5


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        ("ten", {}, "X must be an integer, got 'ten'"),
        ([1], {}, "X must be an integer, got [1]"),
        (0, {}, "X must be >= 1, got 0"),
        (1000, {"minimum": 1024}, "X must be >= 1024, got 1000"),
        (501, {"maximum": 500}, "X must be within 1..500, got 501"),
        (0, {"maximum": 500}, "X must be within 1..500, got 0"),
    ],
)
def test_int_setting_refuses(value: Any, bounds: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        int_setting(Settings({"X": value}), "X", 7, **bounds)
    assert str(info.value) == message


def test_the_configs_share_the_check() -> None:
    with pytest.raises(ConfigError, match=r"^HF_PAGE_SIZE must be an integer, got 'x'$"):
        EndpointConfig.from_settings(
            Settings({"HF_PAGE_SIZE": "x"}), "HF", public="https://hf.co", page_size=5,
            max_page_size=10,
        )  # fmt: skip
    with pytest.raises(ConfigError, match=r"^PWC_CHUNK_BYTES must be >= 1024, got 10$"):
        PwcConfig.from_settings(Settings({"PWC_CHUNK_BYTES": 10}))


def test_bad_numbers_in_the_environment_fail_with_the_setting_name() -> None:
    """The settings module keeps project numbers as text; the typed configs reject bad ones."""
    env = {"NEO4J_URI": "bolt://127.0.0.1:7687", "NEO4J_BATCH_SIZE": "lots", "PATH": ""}
    code = "import mlentory_crawl.settings as s; print(s.NEO4J_BATCH_SIZE)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "lots", out.stderr
    settings = Settings({"NEO4J_URI": "bolt://127.0.0.1:7687", "NEO4J_BATCH_SIZE": "lots"})
    with pytest.raises(ConfigError, match="NEO4J_BATCH_SIZE must be a number"):
        Neo4jConfig.from_settings(settings)
    settings = Settings({"NEO4J_URI": "bolt://127.0.0.1:7687", "NEO4J_BATCH_SIZE": "250"})
    assert Neo4jConfig.from_settings(settings).batch_size == 250
