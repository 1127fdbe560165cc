"""Normalize: RawRecord → FAIR4ML record; invalid input quarantined with its reason.

Every record that cannot be normalised is written to ``DATA_DIR/quarantine/<source>/<job>/``
with the stage, reason, validation errors and the raw record, counted under
``fair4ml/quarantined/<kind>``, and dropped. Expected rejections (bad input) are logged at
INFO/WARNING; unexpected exceptions at ERROR with a traceback — never a crash of the crawl.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn, Self

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from mlentory_crawl.config import FilesConfig
from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import NormalizedItem, RawRecord
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.pipelines.base import PartStorePipeline
from mlentory_crawl.storage import dump_json_line

logger = logging.getLogger(__name__)

_COVERAGE_SKIP = {"id", "type"}


def coverage(record: FAIR4MLRecord) -> dict[str, bool]:
    """Which properties of the primary entity are present (non-empty)."""
    primary = record.primary
    return {
        name: getattr(primary, name) not in (None, [], "")
        for name in type(primary).model_fields
        if name not in _COVERAGE_SKIP
    }


class QuarantineWriter(PartStorePipeline):
    """Writes rejected records to ``DATA_DIR/quarantine/`` (used by the pipelines)."""

    area = "quarantine"

    async def process_item(self, item: Any) -> Any:  # pragma: no cover - not a pipeline
        """Not used as a pipeline."""
        return item

    def put(self, source: str, stage: str, reason: str, errors: Any, raw: Any) -> None:
        """Quarantine one record with the reason it was rejected."""
        self.writer(source).write_line(
            dump_json_line({"stage": stage, "reason": reason, "errors": errors, "record": raw})
        )


class NormalizePipeline:
    """Turns :class:`RawRecord` items into :class:`NormalizedItem` items."""

    def __init__(self, crawler: Crawler, config: FilesConfig) -> None:
        self.crawler = crawler
        self.minter = Minter(config.base_iri)
        self.quarantine = QuarantineWriter(crawler, config)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline with its settings read once."""
        return cls(crawler, FilesConfig.from_settings(crawler.settings))

    async def process_item(self, item: Any) -> Any:
        """Normalize one raw record, or quarantine and drop it with a counted reason."""
        if not isinstance(item, RawRecord):
            return item
        stats = self.crawler.stats
        assert stats is not None
        try:
            normalizer = get_normalizer(item.source)
        except KeyError as exc:
            self._reject(item, "no_normalizer", str(exc), None, logging.ERROR)
        try:
            record = normalizer(item, self.minter)
        except NormalizationError as exc:
            self._reject(item, "invalid_input", str(exc), None, logging.INFO)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            reason = f"{exc.error_count()} validation error(s): " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]
            )
            self._reject(item, "validation_error", reason, errors, logging.WARNING)
        except Exception as exc:  # noqa: BLE001 - a bad record must never stop the crawl
            self._reject_unexpected(item, exc)
        stats.inc_value("fair4ml/records/normalized")
        stats.inc_value(f"fair4ml/records/{item.source}")
        # Models: fair4ml/field/<property>/…; other primaries: fair4ml/field/<Type>/<property>/…
        kind = record.primary.type_name
        prefix = "fair4ml/field/" if kind == "MLModel" else f"fair4ml/field/{kind}/"
        for name, present in coverage(record).items():
            stats.inc_value(f"{prefix}{name}/{'present' if present else 'missing'}")
        for note in record.provenance.notes:
            stats.inc_value(f"fair4ml/{note}")
        return NormalizedItem(record=record, raw=item)

    def _reject_unexpected(self, item: RawRecord, exc: Exception) -> NoReturn:
        logger.error(
            "Normalizer of %s failed unexpectedly on %s",
            item.source,
            item.source_id,
            exc_info=exc,
        )
        self._reject(item, "unexpected_error", f"{type(exc).__name__}: {exc}", None, None)

    def _reject(
        self, item: RawRecord, kind: str, reason: str, errors: Any, level: int | None
    ) -> NoReturn:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(f"fair4ml/quarantined/{kind}")
        stats.inc_value(f"fair4ml/quarantined/{item.source}")
        self.quarantine.put(item.source, "normalize", reason, errors, item.to_dict())
        message = f"quarantined {item.source} record {item.source_id!r}: {reason}"
        if level is not None:
            logger.log(level, "Quarantined %s record %r: %s", item.source, item.source_id, reason)
        raise DropItem(message, log_level="INFO")

    def close_spider(self) -> None:
        """Close the quarantine parts."""
        self.quarantine.close_spider()
