"""Normalized JSON store: FAIR4ML JSON-LD, one record per line, under ``DATA_DIR/normalized/``."""

from __future__ import annotations

from typing import Any

from mlentory_crawl.items.raw import NormalizedItem
from mlentory_crawl.items.vocab import jsonld_context
from mlentory_crawl.pipelines.base import PartStorePipeline
from mlentory_crawl.storage import dump_json_line


class JsonStorePipeline(PartStorePipeline):
    """Appends each FAIR4ML record as a JSON-LD line; writes the shared context once."""

    area = "normalized"

    def open_spider(self) -> None:
        """Write ``DATA_DIR/normalized/context.jsonld`` (the context the lines refer to)."""
        root = self.config.data_dir / self.area
        root.mkdir(parents=True, exist_ok=True)
        path = root / "context.jsonld"
        text = dump_json_line({"@context": jsonld_context(self.config.base_iri)}) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")

    async def process_item(self, item: Any) -> Any:
        """Persist normalized records; pass everything through unchanged."""
        if isinstance(item, NormalizedItem):
            record = item.record
            doc = record.to_jsonld(self.config.base_iri + "context.jsonld")
            if self.writer(record.provenance.source).write_line(dump_json_line(doc)):
                self.stats.inc_value("files/normalized/records")
        return item
