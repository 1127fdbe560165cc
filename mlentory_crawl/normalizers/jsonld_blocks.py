"""Find and parse the JSON-LD script blocks of an HTML page (tolerating broken JSON).

:func:`extract_blocks` collects every ``<script type="application/ld+json">`` (type matched
case-insensitively, parameters such as ``; charset=utf-8`` allowed) and parses it as JSON.
Blocks strict JSON rejects are *invalid*; a tolerant second pass repairs trailing commas,
comments, HTML-escaped markup (``&quot;``) and concatenated objects (*repaired*); what still
fails (truncated JSON) is *unparseable* and kept as text for quarantine. HTML comment and
CDATA wrappers around a block are not errors. Pure functions; no Scrapy import, no I/O.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

MAX_BLOCK_CHARS = 5_000_000
MAX_KEPT_TEXT = 65_536
_TYPE_RE = re.compile(r"^\s*application/ld\+json\s*(?:;.*)?$", re.IGNORECASE | re.DOTALL)
_WRAPPER_RE = re.compile(
    r"^\s*(?:<!--|(?://|/\*)\s*<!\[CDATA\[\s*(?:\*/)?)|(?:-->|(?://|/\*)\s*\]\]>\s*(?:\*/)?)\s*$"
)
_ENTITY_RE = re.compile(r"&(?:quot|amp|lt|gt|apos|#\d+|#x[0-9a-f]+);", re.IGNORECASE)


@dataclass
class Extraction:
    """The JSON-LD of one page.

    Attributes:
        blocks: parsed values, one per JSON value found (a block holding two concatenated
            objects gives two), in page order.
        scripts: how many JSON-LD script elements the page has (empty ones included).
        invalid: scripts strict JSON rejected (repaired ones included).
        repaired: invalid scripts the tolerant pass could read.
        unparseable: raw text (cut to 64 KiB) of the scripts nothing could read.
        errors: one reason per unparseable script, in the same order.
    """

    blocks: list[Any] = field(default_factory=list)
    scripts: int = 0
    invalid: int = 0
    repaired: int = 0
    unparseable: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """True when the page has at least one non-empty JSON-LD script."""
        return bool(self.blocks or self.unparseable)


class _ScriptCollector(HTMLParser):
    """Collects the text of ``application/ld+json`` script elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._buffer: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            kind = next((v or "" for k, v in attrs if k == "type"), "")
            self._buffer = [] if _TYPE_RE.match(kind) else None

    def handle_data(self, data: str) -> None:
        if self._buffer is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._buffer is not None:
            self.texts.append("".join(self._buffer))
            self._buffer = None


def script_texts(page: str) -> list[str]:
    """The raw text of every JSON-LD script element of an HTML page, in order."""
    if "ld+json" not in page.lower():
        return []
    collector = _ScriptCollector()
    try:
        collector.feed(page)
        collector.close()
    except (AssertionError, ValueError):  # HTMLParser gives up on some broken markup
        pass
    if collector._buffer:  # a page cut off inside the script
        collector.texts.append("".join(collector._buffer))
    return collector.texts


def _strip_wrappers(text: str) -> str:
    lines = text.strip().splitlines()
    while lines and _WRAPPER_RE.match(lines[0]):
        lines.pop(0)
    while lines and _WRAPPER_RE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines).strip()


def _repair(text: str) -> str:
    """Drop comments and trailing commas outside strings (a small JSON5-ish clean-up)."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif char == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1
                continue
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _decode_all(text: str) -> list[Any]:
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n;,":
            i += 1
        if i >= n:
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


def parse_block(text: str) -> tuple[list[Any], str | None, bool]:
    """Parse one script's text.

    Returns:
        ``(values, error, repaired)``: the JSON values (``[]`` for an empty script), the reason
        when nothing could be read, and whether strict JSON had to be relaxed.
    """
    body = _strip_wrappers(text)
    if not body:
        return [], None, False
    if len(body) > MAX_BLOCK_CHARS:
        return [], f"block too large ({len(body)} characters)", False
    try:
        return [json.loads(body)], None, False
    except (ValueError, RecursionError):
        pass
    candidates = [body]
    if _ENTITY_RE.search(body):
        candidates.insert(0, html.unescape(body))
    error = "unreadable"
    for candidate in candidates:
        try:
            values = _decode_all(_repair(candidate))
        except (ValueError, RecursionError) as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        return values, None, True
    return [], error, False


def extract_blocks(page: str) -> Extraction:
    """Every JSON-LD block of an HTML page (see :class:`Extraction`)."""
    return _collect(script_texts(page))


def extract_json_document(body: str) -> Extraction:
    """A response served as ``application/ld+json`` itself: the whole body is one block."""
    return _collect([body])


def _collect(texts: list[str]) -> Extraction:
    out = Extraction(scripts=len(texts))
    for text in texts:
        values, error, repaired = parse_block(text)
        if error is not None:
            out.invalid += 1
            out.unparseable.append(text[:MAX_KEPT_TEXT])
            out.errors.append(error)
        elif repaired:
            out.invalid += 1
            out.repaired += 1
        out.blocks.extend(values)
    return out
