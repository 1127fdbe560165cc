"""Typed configuration read once from Scrapy settings, failing early with a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scrapy.settings import BaseSettings

from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI


class ConfigError(ValueError):
    """A setting has a value the project cannot use."""


def int_setting(
    settings: BaseSettings,
    name: str,
    default: int,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    """An integer setting within ``minimum..maximum`` (``maximum=None``: no upper bound).

    The one range check of the project's integer settings (file parts, page sizes, PwC sizes).

    Raises:
        ConfigError: the value is not an integer, or outside the range.
    """
    try:
        value = settings.getint(name, default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an integer, got {settings.get(name)!r}") from exc
    if maximum is not None and not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be within {minimum}..{maximum}, got {value}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class FilesConfig:
    """Where and how records are kept on disk (``DATA_DIR``, ``STORE_PART_RECORDS``, ...)."""

    data_dir: Path
    part_records: int
    base_iri: str
    raw_enabled: bool

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FilesConfig:
        """Read and validate the file settings.

        Raises:
            ConfigError: a value is unusable (e.g. ``STORE_PART_RECORDS=0``, a base IRI
                that is not absolute http(s)).
        """
        base = str(settings.get("MLENTORY_BASE_IRI") or DEFAULT_BASE_IRI)
        if not base.startswith(("http://", "https://")) or any(c.isspace() for c in base):
            raise ConfigError(f"MLENTORY_BASE_IRI must be an absolute http(s) IRI, got {base!r}")
        if not base.endswith("/"):
            base += "/"
        data_dir = Path(str(settings.get("DATA_DIR") or "./data")).expanduser()
        return cls(
            data_dir=data_dir,
            part_records=int_setting(settings, "STORE_PART_RECORDS", 10000),
            base_iri=base,
            raw_enabled=settings.getbool("RAW_STORE_ENABLED", True),
        )
