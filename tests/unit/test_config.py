"""``config.int_setting``: the one range check of the project's integer settings."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.settings import Settings

from mlentory_crawl.config import ConfigError, int_setting
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
