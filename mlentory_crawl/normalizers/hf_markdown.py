"""The Markdown of Hugging Face model cards, read with a few line-based rules.

ATX headings outside fenced code split a card into :class:`Section`s; fenced code blocks,
``- **Label:** value`` field lines, HTML comments, ``[More Information Needed]`` placeholders
and the card template's boilerplate sentences are recognised, so the prose that is left says
something about the model. Tolerant by design (unclosed fences, headings inside code, very long
lines); nothing here raises. Pure functions, no I/O. Front matter and the whole card:
:mod:`.hf_card`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlentory_crawl.normalizers.common import plain

PLACEHOLDER_RE = re.compile(r"\[?\s*more information needed\s*\]?", re.IGNORECASE)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
MAX_HEADING_CHARS = 300  # longer lines are never headings (and never reach the regex)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_FIELD = re.compile(r"^\s*(?:[-*+]\s+)?\*\*([^*\n]{1,80}?)\*\*\s*:?\s*(.*)$")

#: Sentences of the default card template that carry no information about the model.
BOILERPLATE = (
    "This is the model card of a 🤗 transformers model that has been pushed on the Hub. "
    "This model card has been automatically generated.",
    "Users (both direct and downstream) should be made aware of the risks, biases and "
    "limitations of the model. More information needed for further recommendations.",
    "Use the code below to get started with the model.",
    "Carbon emissions can be estimated using the [Machine Learning Impact calculator]"
    "(https://mlco2.github.io/impact#compute) presented in [Lacoste et al. (2019)]"
    "(https://arxiv.org/abs/1910.09700).",
)


@dataclass
class Section:
    """One Markdown section: its heading and the text up to the next heading of any level."""

    title: str
    key: str
    level: int
    text: str


def normalise_newlines(text: str) -> str:
    """LF line ends, no BOM."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def is_heading(line: str) -> bool:
    """Whether a line is an ATX heading (``## Uses``); over-long lines never are."""
    return len(line) <= MAX_HEADING_CHARS and bool(_HEADING.match(line))


def is_field_line(line: str) -> bool:
    """Whether a line is a ``- **Label:** value`` field line of the card template."""
    return bool(_FIELD.match(line))


def strip_comments(markdown: str) -> str:
    """Markdown without HTML comments (an unclosed one runs to the end)."""
    return _COMMENT.sub("", markdown)


def split_sections(body: str) -> tuple[str, list[Section]]:
    """Split Markdown into the text before the first heading and a flat list of sections."""
    preamble: list[str] = []
    sections: list[tuple[str, int, list[str]]] = []
    fence: str | None = None
    for line in body.split("\n"):
        marker = _FENCE.match(line)
        if fence is None:
            heading = None if marker or len(line) > MAX_HEADING_CHARS else _HEADING.match(line)
            if heading:
                sections.append((heading.group(2), len(heading.group(1)), []))
                continue
            if marker:
                fence = marker.group(1)
        elif _closes(marker, fence):
            fence = None
        (sections[-1][2] if sections else preamble).append(line)
    return "\n".join(preamble).strip(), [
        Section(
            title=plain(title), key=title_key(title), level=level, text="\n".join(lines).strip()
        )
        for title, level, lines in sections
    ]


def title_key(title: str) -> str:
    """A comparable heading key: plain, lower case, no ``[optional]``, numbering or emoji."""
    key = plain(title).lower()
    key = re.sub(r"\[optional\]|\(optional\)", "", key)
    key = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[ivx]+\.)\s+", "", key.strip())
    key = re.sub(r"[^\w&,()'.\- ]+", " ", key)
    return re.sub(r"\s+", " ", key).strip(" :-")


def _closes(marker: re.Match[str] | None, fence: str) -> bool:
    """Whether a fence-looking line closes the open ``fence`` (same char, as long, no info)."""
    return bool(
        marker
        and marker.group(1)[0] == fence[0]
        and len(marker.group(1)) >= len(fence)
        and not marker.group(2).strip()
    )


def code_blocks(markdown: str) -> list[str]:
    """The contents of fenced code blocks, in order (an unclosed fence runs to the end)."""
    blocks: list[str] = []
    fence: str | None = None
    lines: list[str] = []
    for line in markdown.split("\n"):
        marker = _FENCE.match(line)
        if fence is None:
            if marker:
                fence, lines = marker.group(1), []
        elif _closes(marker, fence):
            blocks.append("\n".join(lines))
            fence = None
        else:
            lines.append(line)
    if fence is not None:
        blocks.append("\n".join(lines))
    return [block.strip("\n") for block in blocks if block.strip()]


def strip_code(markdown: str) -> str:
    """Markdown without its fenced code blocks."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        marker = _FENCE.match(line)
        if fence is None:
            if marker:
                fence = marker.group(1)
            else:
                out.append(line)
        elif _closes(marker, fence):
            fence = None
    return "\n".join(out)


def clean_prose(markdown: str | None, *, drop_fields: bool = False) -> str | None:
    """Card prose without code, comments, placeholders and template boilerplate.

    Args:
        markdown: section Markdown.
        drop_fields: also drop ``- **Label:** value`` lines (the template's field lists).

    Returns:
        The cleaned text, or ``None`` when nothing informative is left.
    """
    if not markdown:
        return None
    text = strip_code(strip_comments(markdown))
    for sentence in BOILERPLATE:
        text = text.replace(sentence, "")
    text = PLACEHOLDER_RE.sub("", text)
    kept: list[str] = []
    for line in text.split("\n"):
        field_match = _FIELD.match(line)
        if field_match and (drop_fields or not plain(field_match.group(2))):
            continue
        kept.append(line.rstrip())
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return cleaned if re.search(r"\w", plain(cleaned)) else None


def field_lines(markdown: str) -> list[tuple[str, str, str]]:
    """``- **Label:** value`` lines as ``(label, key, value)`` (placeholder values skipped)."""
    out: list[tuple[str, str, str]] = []
    for line in strip_code(markdown).split("\n"):
        match = _FIELD.match(line)
        if match:
            value = PLACEHOLDER_RE.sub("", match.group(2)).strip()
            if value and plain(value):
                out.append((plain(match.group(1)).rstrip(" :"), title_key(match.group(1)), value))
    return out


def fields(markdown: str) -> dict[str, str]:
    """``- **Label:** value`` lines as ``{label key: value}`` (first occurrence wins)."""
    out: dict[str, str] = {}
    for _, key, value in field_lines(markdown):
        out.setdefault(key, value)
    return out
