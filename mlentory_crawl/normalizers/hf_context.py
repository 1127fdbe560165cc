"""The Hub model being normalised: its draft node and the inputs every mapping step reads.

:class:`Context` holds the API payload, the parsed card (when one was fetched with a 2xx
status) and ``cardData`` merged over the card's front matter (the front matter only fills keys
the Hub's ``cardData`` lacks; it is parsed only when ``cardData`` is missing or not a mapping).
Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

from mlentory_crawl.identity import hf_model_iri
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.normalizers import hf_card
from mlentory_crawl.normalizers.builders import RecordDraft
from mlentory_crawl.normalizers.common import as_dict, as_text


class Context(RecordDraft):
    """The model being built, plus the Hub inputs every mapping step reads."""

    def __init__(self, builder: RecordBuilder, repo_id: str, payload: dict[str, Any]) -> None:
        super().__init__(builder, hf_model_iri(repo_id))
        self.repo_id = repo_id
        self.payload = payload
        self.card = load_card(builder, parse_metadata=not isinstance(payload.get("cardData"), dict))
        front = self.card.metadata if self.card is not None else {}
        if payload.get("cardData") is not None and not isinstance(payload["cardData"], dict):
            self.note("field/cardData/invalid")
        self.card_data: dict[str, Any] = {**front, **as_dict(payload.get("cardData"))}
        self.revision = as_text(payload.get("sha")) or "main"

    def hub_text(self, key: str, card: bool = True) -> str | None:
        """A text field of the payload, else of ``cardData`` (other types noted, ignored)."""
        return self.text_field(key, self.payload, *([self.card_data] if card else []))


def load_card(builder: RecordBuilder, parse_metadata: bool) -> hf_card.ModelCard | None:
    """The fetched card (``attachments["card"]`` with a 2xx status and text), parsed."""
    attachment = builder.raw.attachments.get("card")
    if (
        attachment is None
        or not 200 <= attachment.status < 300
        or not isinstance(attachment.text, str)
    ):
        return None
    builder.fetched.append(attachment.url)
    card = hf_card.parse_card(attachment.text, metadata=parse_metadata)
    if card.metadata_error:
        builder.note("card/frontmatter/invalid")
    return card
