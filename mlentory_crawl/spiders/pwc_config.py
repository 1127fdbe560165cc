"""Configuration of the ``paperswithcode`` spider: arguments, settings, dump locations, streams.

* :class:`PwcArgs`: the Pydantic-validated spider arguments (``dumps``, ``path``,
  ``base_url``, ``limit``).
* :class:`PwcConfig`: the ``PWC_*`` settings, read once.
* :func:`resolve_sources`: which dump files a location (folder, file, ``file://`` or
  ``http(s)://``) holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator
from scrapy.settings import BaseSettings
from w3lib.url import file_uri_to_path

from mlentory_crawl.config import ConfigError, FilesConfig, int_setting
from mlentory_crawl.spiders.base import SpiderArgs
from mlentory_crawl.spiders.pwc_dumps import DUMPS, SUFFIXES, dump_of_file, parse_dumps


class PwcArgs(SpiderArgs):
    """Arguments of the ``paperswithcode`` spider (see the module docstring)."""

    dumps: tuple[str, ...] | None = None
    path: str | None = Field(default=None, min_length=1, max_length=4096)
    base_url: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: int | None = Field(default=None, ge=1)

    @field_validator("dumps", mode="before")
    @classmethod
    def _dumps(cls, value: Any) -> tuple[str, ...] | None:
        return parse_dumps(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?|file)://", value, re.IGNORECASE):
            raise ValueError("expected an http://, https:// or file:// URL")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> Self:
        if self.path is not None and self.base_url is not None:
            raise ValueError("give either path or base_url, not both")
        return self


@dataclass(frozen=True)
class PwcConfig:
    """Settings read once: ``PWC_DUMPS_URL``, ``PWC_CHUNK_BYTES``, ``PWC_MAX_ELEMENT_MB``,
    ``PWC_MAX_PENDING_ITEMS``, ``PWC_PAPER_INDEX``; leaderboard rows are staged in
    ``DATA_DIR/index/paperswithcode/`` (a file per dump read, deleted when it ends)."""

    location: str
    chunk_bytes: int
    max_element_chars: int
    max_pending_items: int
    index_path: Path | None
    staging_dir: Path

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PwcConfig:
        """Read and validate.

        Raises:
            ConfigError: a non-integer or too small size setting.
        """
        values = {
            name: int_setting(settings, name, default, minimum=low)
            for name, default, low in (
                ("PWC_CHUNK_BYTES", 16 << 20, 1024),
                ("PWC_MAX_ELEMENT_MB", 256, 1),
                ("PWC_MAX_PENDING_ITEMS", 1000, 1),
            )
        }
        index = str(settings.get("PWC_PAPER_INDEX") or "").strip()
        data_dir = FilesConfig.from_settings(settings).data_dir
        state = data_dir / "index" / "paperswithcode"
        default_index = state / "papers.sqlite3"
        return cls(
            location=str(settings.get("PWC_DUMPS_URL") or "").strip(),
            chunk_bytes=values["PWC_CHUNK_BYTES"],
            max_element_chars=values["PWC_MAX_ELEMENT_MB"] << 20,
            max_pending_items=values["PWC_MAX_PENDING_ITEMS"],
            index_path=None
            if index.lower() in ("off", "0", "false")
            else Path(index or default_index),
            staging_dir=state,
        )


# ------------------------------------------------------------------------- location


@dataclass(frozen=True)
class DumpSource:
    """Where one dump is read from.

    Attributes:
        dump: the dump name.
        url: the ``http(s)://`` URL or the ``file://`` URI of the file (the records' API URL).
        path: the local file; ``None`` for HTTP.
    """

    dump: str
    url: str
    path: Path | None = None


def resolve_sources(
    location: str, dumps: tuple[str, ...] | None
) -> tuple[list[DumpSource], list[str]]:
    """The dump files at ``location`` (folder or file; local path, ``file://`` or http(s)).

    Returns:
        The dumps found (for HTTP: every wanted dump, since only a request can tell) and the
        wanted dumps that a local folder lacks.

    Raises:
        ConfigError: the location does not exist, or names a file that is not a wanted dump.
    """
    wanted = list(dumps or DUMPS)
    text = location.strip()
    if re.match(r"^https?://", text, re.IGNORECASE):
        parts = urlsplit(text)
        single = dump_of_file(unquote(parts.path.rsplit("/", 1)[-1]))
        if single is not None:
            return [DumpSource(_check(single, dumps, text), text)], []
        if parts.query or parts.fragment:
            raise ConfigError(f"dump base URL must not have a query or fragment: {text!r}")
        base = text.rstrip("/")
        return [DumpSource(d, f"{base}/{DUMPS[d].files[0]}.json.gz") for d in wanted], []
    path = Path(file_uri_to_path(text)) if text.lower().startswith("file:") else Path(text)
    path = path.expanduser()
    if path.is_file():
        single = dump_of_file(path.name)
        if single is None:
            raise ConfigError(f"{path.name!r} is not a dump file (expected e.g. methods.json.gz)")
        resolved = path.resolve()
        return [DumpSource(_check(single, dumps, str(path)), resolved.as_uri(), resolved)], []
    if not path.is_dir():
        raise ConfigError(f"dump location {str(path)!r} does not exist")
    found: list[DumpSource] = []
    missing: list[str] = []
    for dump in wanted:
        names = [stem + suffix for stem in DUMPS[dump].files for suffix in SUFFIXES]
        hit = next((path / n for n in names if (path / n).is_file()), None)
        if hit is None:
            missing.append(dump)
        else:
            found.append(DumpSource(dump, hit.resolve().as_uri(), hit.resolve()))
    return found, missing


def _check(dump: str, dumps: tuple[str, ...] | None, where: str) -> str:
    if dumps is not None and dump not in dumps:
        raise ConfigError(f"{where} holds the {dump} dump, which is not among dumps={dumps}")
    return dump
