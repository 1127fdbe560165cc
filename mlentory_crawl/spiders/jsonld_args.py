"""Arguments of the ``jsonld`` spider (see :mod:`.jsonld` for what each one does)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urldefrag, urlsplit

from pydantic import Field, field_validator, model_validator

from mlentory_crawl.spiders.args import SpiderArgs

MAX_URL_FILE_BYTES = 64 * 1024 * 1024
_URL_SPLIT = re.compile(r"\s*,\s*(?=https?://)|\s+", re.IGNORECASE)


def is_page_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", url)


def parse_urls(value: Any, what: str) -> tuple[str, ...]:
    """Split a URL argument (a string or a list) into validated URLs (fragments dropped).

    Raises:
        ValueError: an item is not an absolute http(s) URL.
    """
    if value is None or value == "":
        return ()
    items = [str(v) for v in value] if isinstance(value, list | tuple) else _URL_SPLIT.split(value)
    out: dict[str, None] = {}
    for item in items:
        item = item.strip().rstrip(",")
        if not item:
            continue
        if not is_page_url(item):
            raise ValueError(f"not an absolute http(s) {what}: {item[:200]!r}")
        out[urldefrag(item)[0]] = None
    return tuple(out)


def read_url_file(path: str) -> tuple[str, ...]:
    """The URLs of a local file, one per line (``#`` comments and blank lines skipped).

    Raises:
        ValueError: the file cannot be read, is too large, or holds an invalid URL.
    """
    file = Path(path).expanduser()
    try:
        if file.stat().st_size > MAX_URL_FILE_BYTES:
            raise ValueError(f"URL file {path!r} is larger than {MAX_URL_FILE_BYTES} bytes")
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read URL file {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"URL file {path!r} is not UTF-8 text") from None
    urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    for number, url in enumerate(urls, start=1):
        if not is_page_url(url):
            raise ValueError(
                f"{path}: entry {number} is not an absolute http(s) URL: {url[:200]!r}"
            )
    return parse_urls(urls, "URL")


class JsonLdArgs(SpiderArgs):
    """Arguments of the ``jsonld`` spider (see :mod:`.jsonld`)."""

    urls: tuple[str, ...] = ()
    file: tuple[str, ...] = ()
    sitemap: tuple[str, ...] = ()
    match: str | None = Field(default=None, max_length=500)
    limit: int | None = Field(default=None, ge=1)
    render: Literal["auto", "always", "never"] = "auto"
    wait: Literal["load", "domcontentloaded", "networkidle"] = "networkidle"

    @field_validator("urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> tuple[str, ...]:
        return parse_urls(value, "URL")

    @field_validator("sitemap", mode="before")
    @classmethod
    def _sitemaps(cls, value: Any) -> tuple[str, ...]:
        return parse_urls(value, "sitemap URL")

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, value: Any) -> tuple[str, ...]:
        if value is None or value == "":
            return ()
        return read_url_file(str(value))

    @field_validator("match")
    @classmethod
    def _match(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.urls or self.file or self.sitemap):
            raise ValueError("give page URLs with urls=…, file=… or sitemap=…")
        return self
