"""Which requests the journaling scheduler handed out are fully handled, read from the engine.

A request popped by :class:`mlentory_crawl.resume.JournalScheduler` is in flight while it is
in the engine's downloader (``downloader.active``) or scraper (``scraper.slot.active`` and
``scraper.slot.queue``): the engine moves a request between them without a gap, so a popped
request in neither has been downloaded and its callback or errback output fully processed.

Those attributes are not documented Scrapy API; this module is the only code that reads them
(``tests/unit/test_resume_journal.py`` fails if a Scrapy upgrade renames them). If they are
missing at run time, :meth:`HandledRequests.sweep` logs an error once and marks nothing done,
so a resume repeats more work but never loses any.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request

logger = logging.getLogger(__name__)


def in_flight(engine: Any) -> set[Request]:
    """The requests in the engine's downloader or scraper.

    Raises:
        AttributeError: the engine lacks the attributes read (no engine, or a Scrapy change).
    """
    flying: set[Request] = set(engine.downloader.active)
    slot = engine.scraper.slot
    if slot is not None:
        flying.update(slot.active)
        flying.update(entry[1] for entry in slot.queue)
    return flying


def scraper_idle(engine: Any) -> bool:
    """Whether no callback is running and no item is in a pipeline (``True`` without a slot)."""
    slot = getattr(getattr(engine, "scraper", None), "slot", None)
    return slot is None or bool(slot.is_idle())


class HandledRequests:
    """Popped requests with their journal ids, until they are done.

    Attributes:
        in_progress: popped requests that may still be in flight, with their journal ids.
        done: journal ids of requests found fully handled (the next checkpoint takes them).
    """

    def __init__(self) -> None:
        self.in_progress: dict[Request, int] = {}
        self.done: list[int] = []
        self._internals_missing = False

    def popped(self, request: Request, request_id: int) -> None:
        """Remember a request the scheduler just handed to the engine."""
        self.in_progress[request] = request_id

    def sweep(self, engine: Any) -> None:
        """Move the requests that are no longer in flight to :attr:`done`."""
        if not self.in_progress:
            return
        try:
            flying = in_flight(engine)
        except AttributeError as exc:
            if not self._internals_missing:
                self._internals_missing = True
                logger.error(
                    "Cannot see the engine's in-flight requests (%s): no request is marked "
                    "done, so a resume after a SIGKILL repeats this whole run (nothing lost)",
                    exc,
                )
            return
        for request, request_id in list(self.in_progress.items()):
            if request not in flying:
                self.done.append(request_id)
                del self.in_progress[request]
