"""Raw store: exactly what the source said, replayable, under ``DATA_DIR/raw/<source>/``."""

from __future__ import annotations

from typing import Any

from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.pipelines.base import PartStorePipeline
from mlentory_crawl.storage import dump_json_line


class RawStorePipeline(PartStorePipeline):
    """Appends each :class:`RawRecord` as one JSON line (``RAW_STORE_ENABLED=0`` turns it off)."""

    area = "raw"

    async def process_item(self, item: Any) -> Any:
        """Persist raw records; pass everything through unchanged."""
        if not isinstance(item, RawRecord) or not self.config.raw_enabled:
            return item
        if self.writer(item.source).write_line(dump_json_line(item.to_dict())):
            self.stats.inc_value(f"raw/records/{item.source}")
        return item
