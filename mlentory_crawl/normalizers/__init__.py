"""Normalizers: pure functions from a RawRecord to a FAIR4ML record, one module per source.

Each source module exposes ``normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord``.
They import nothing from Scrapy, do no I/O and raise :class:`NormalizationError` with a clear
reason for input they cannot use.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord

Normalizer = Callable[[RawRecord, Minter], FAIR4MLRecord]

#: source name -> module under ``mlentory_crawl.normalizers``
SOURCES: dict[str, str] = {
    "huggingface": "huggingface",
    "openml": "openml",
    "paperswithcode": "paperswithcode",
    "bioimageio": "bioimageio",
    "jsonld": "jsonld",
}


class NormalizationError(ValueError):
    """Input that cannot become a FAIR4ML record; the message is the logged reason."""


def get_normalizer(source: str) -> Normalizer:
    """Return the normalizer of ``source``.

    Raises:
        KeyError: no normalizer is registered for the source.
    """
    module_name = SOURCES.get(source)
    if module_name is None:
        raise KeyError(f"no normalizer for source {source!r}")
    module = import_module(f"mlentory_crawl.normalizers.{module_name}")
    normalizer: Normalizer = module.normalize
    return normalizer
