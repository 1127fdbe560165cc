"""Hugging Face model cards (``README.md``): front matter, sections, FAIR4ML text properties.

Tolerant by design. A card may have no front matter, front matter that is not a mapping (a
list, a string), YAML that does not parse, Windows line breaks, a BOM, unclosed code fences or
headings inside code; none of these raises. What could not be read is reported in
:attr:`ModelCard.metadata_error` so the normalizer can add a data-quality note.

Only the front-matter YAML is parsed, always with ``yaml.safe_load``; the Markdown body is read
with a few line-based rules (:mod:`.hf_markdown`, whose helpers are re-exported here), which is
all the card template needs. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # libyaml's SafeLoader: the same safe subset as yaml.safe_load, several times faster
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

from mlentory_crawl.normalizers.common import (
    as_dict,
    as_str,
    first_url,
    paper_refs,
    parse_number,
    plain,
    yaml_nesting_depth,
)
from mlentory_crawl.normalizers.hf_markdown import (
    BOILERPLATE,
    PLACEHOLDER_RE,
    Section,
    clean_prose,
    code_blocks,
    field_lines,
    fields,
    is_field_line,
    is_heading,
    normalise_newlines,
    split_sections,
    strip_code,
    strip_comments,
    title_key,
)

__all__ = [
    "BOILERPLATE",
    "PLACEHOLDER_RE",
    "ModelCard",
    "Section",
    "card_texts",
    "clean_prose",
    "co2_from_card",
    "co2_from_metadata",
    "code_blocks",
    "code_repository",
    "description",
    "field_lines",
    "fields",
    "first_paragraph",
    "gather",
    "load_front_matter",
    "normalise_newlines",
    "parse_card",
    "reference_papers",
    "split_front_matter",
    "split_sections",
    "strip_code",
    "title_key",
]

MAX_CARD_CHARS = 1_000_000
MAX_FRONT_MATTER_CHARS = 512_000
_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\n(?:(.*?)\n)??---[ \t]*(?:\n|\Z)", re.S)


@dataclass
class ModelCard:
    """A parsed model card.

    Attributes:
        metadata: the front matter when it is a mapping, else ``{}``.
        metadata_raw: whatever ``yaml.safe_load`` returned (``None`` when nothing parsed).
        metadata_error: ``None``, ``"invalid-yaml"``, ``"not-a-mapping"`` or ``"too-large"``.
        has_front_matter: whether a ``---`` block opened the card.
        body: the Markdown after the front matter (LF line ends, HTML comments removed).
        preamble: body text before the first heading.
        sections: every section in document order (a flat list; levels give the tree).
    """

    metadata: dict[str, Any] = field(default_factory=dict)
    metadata_raw: Any = None
    metadata_error: str | None = None
    has_front_matter: bool = False
    body: str = ""
    preamble: str = ""
    sections: list[Section] = field(default_factory=list)

    def find(self, *patterns: str) -> list[int]:
        """Indexes of sections whose normalised title fully matches one of ``patterns``.

        Patterns are tried in order, so the result is ordered by pattern preference first and
        document order second.
        """
        found: list[int] = []
        for pattern in patterns:
            regex = re.compile(pattern)
            found += [
                i for i, s in enumerate(self.sections) if regex.fullmatch(s.key) and i not in found
            ]
        return found

    def subtree(self, index: int) -> list[Section]:
        """The section at ``index`` followed by all of its subsections."""
        head = self.sections[index]
        out = [head]
        for section in self.sections[index + 1 :]:
            if section.level <= head.level:
                break
            out.append(section)
        return out

    def text_of(self, index: int, children: bool = True) -> str:
        """Markdown of a section (its own text, plus subsections as ``title`` + text)."""
        parts = [self.sections[index].text]
        if children:
            parts += [f"{s.title}\n\n{s.text}" for s in self.subtree(index)[1:]]
        return "\n\n".join(p for p in parts if p.strip())


MAX_YAML_DEPTH = 100


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Split ``---``-delimited front matter from the body; ``(None, text)`` when there is none."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1) or "", text[match.end() :]


def load_front_matter(source: str) -> tuple[Any, str | None]:
    """Safe-load the front matter; returns the value and an error code or ``None``.

    Uses PyYAML's safe loader (libyaml-backed when available): plain data only, no tags that
    construct Python objects.
    """
    if len(source) > MAX_FRONT_MATTER_CHARS:
        return None, "too-large"
    if yaml_nesting_depth(source) > MAX_YAML_DEPTH:
        return None, "too-deep"
    try:
        value = yaml.load(source, Loader=SafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError, OverflowError):
        return None, "invalid-yaml"
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return value, "not-a-mapping"
    return value, None


def parse_card(text: str, metadata: bool = True) -> ModelCard:
    """Parse a model card into front matter and Markdown sections (never raises).

    Args:
        text: the raw ``README.md``.
        metadata: parse the YAML front matter; pass ``False`` when the Hub already returned it
            as ``cardData`` (the front matter is then only split off the body).
    """
    text = normalise_newlines(text[:MAX_CARD_CHARS])
    front, body = split_front_matter(text)
    card = ModelCard(has_front_matter=front is not None)
    if front is not None and metadata:
        card.metadata_raw, card.metadata_error = load_front_matter(front)
        if isinstance(card.metadata_raw, dict):
            card.metadata = card.metadata_raw
    card.body = strip_comments(body)
    card.preamble, card.sections = split_sections(card.body)
    return card


def first_paragraph(card: ModelCard) -> str | None:
    """The first prose paragraph of the body (skips headings, code, HTML, images, tables, lists)."""
    body = strip_code(card.body)
    for block in re.split(r"\n\s*\n", body):
        lines = [ln for ln in block.strip().split("\n") if ln.strip() and not is_heading(ln)]
        if not lines:
            continue
        first = lines[0].lstrip()
        if first.startswith(("|", "-", "*", "+", "<", "!", ">", "[!", "===")) or is_field_line(
            first
        ):
            continue
        text = plain("\n".join(lines))
        if len(text) >= 20 and " " in text and not PLACEHOLDER_RE.fullmatch(text):
            cleaned = clean_prose("\n".join(lines))
            if cleaned:
                return cleaned
    return None


# --- card sections → FAIR4ML text properties (fair4ml.md §13.2) -------------------------------

DESCRIPTION = (
    r"model description",
    r"description",
    r"model summary|summary|model overview|overview|introduction|about(?: the model)?",
    r"model details|model information",
)
USES = (
    r"(?:intended )?uses?(?: (?:&|and) limitations)?",
    r"intended use cases?",
    r"direct use",
    r"downstream use",
    r"out[- ]of[- ]scope(?: uses?)?",
)
RISKS = (r".*\b(?:bias|biases|risks?|limitations?)\b.*", r"recommendations")
NOT_RISKS = r".*\buses?\b.*"  # "Intended uses & limitations" belongs to intendedUse
GET_STARTED = (r"how to get started(?: with the model)?",)
USAGE = (
    r"how to use(?: .*)?",
    r"(?:model |example )?usage(?: .*)?",
    r"quick ?start(?: .*)?",
    r"getting started",
    r"use with .*",
    r"inference",
)
CITATION = r".*\b(?:citations?|cite|citing|bibtex|references?|papers?|publications?)\b.*"
REPOSITORY_FIELDS = ("repository", "code repository", "github repository", "code")
PAPER_FIELDS = ("paper", "papers", "technical report")


def card_texts(card: ModelCard, metadata: dict[str, Any]) -> dict[str, str | None]:
    """The FAIR4ML text properties a card provides (``None`` where it says nothing)."""
    return {
        "description": description(card),
        "intendedUse": gather(card, USES),
        "usageInstructions": gather(card, GET_STARTED + USAGE),
        "codeSampleSnippet": code_sample(card),
        "modelRisksBiasLimitations": gather(card, RISKS, exclude=NOT_RISKS),
        "hasCO2eEmissions": co2_from_metadata(metadata.get("co2_eq_emissions"))
        or co2_from_card(card),
    }


def description(card: ModelCard) -> str | None:
    """Model Description prose (field lists dropped), else the body's first paragraph."""
    for pattern in DESCRIPTION:
        for index in card.find(pattern):
            prose = clean_prose(card.sections[index].text, drop_fields=True)
            if prose:
                return prose
    return first_paragraph(card)


def gather(card: ModelCard, patterns: tuple[str, ...], exclude: str | None = None) -> str | None:
    """Prose of all sections matching ``patterns`` and their subsections, in document order.

    The first matched section's own text comes unlabelled; every further part is prefixed with
    its heading (``Out-of-Scope Use: …``). Empty and placeholder parts are skipped.
    """
    parts: list[str] = []
    covered: set[int] = set()
    for index in sorted(set(card.find(*patterns))):
        if index in covered or (exclude and re.fullmatch(exclude, card.sections[index].key)):
            continue
        span = range(index, index + len(card.subtree(index)))
        covered.update(span)
        for position in span:
            section = card.sections[position]
            prose = clean_prose(section.text)
            if prose:
                label = re.sub(r"\s*[\[(]optional[\])]\s*", " ", section.title, flags=re.I).strip()
                parts.append(prose if not parts and position == index else f"{label}: {prose}")
    return "\n\n".join(parts) or None


def code_sample(card: ModelCard) -> str | None:
    """The first fenced code block of How to Get Started, else of a Usage-like section."""
    for pattern in GET_STARTED + USAGE:
        for index in card.find(pattern):
            blocks = code_blocks(card.text_of(index))
            if blocks:
                return blocks[0]
    return None


def co2_from_metadata(value: Any) -> str | None:
    """``co2_eq_emissions`` (grams, or a dict with ``emissions`` and context) as text."""
    number = parse_number(value)
    data = as_dict(value)
    if number is None:
        number = parse_number(data.get("emissions"))
    if number is None:
        return None
    details = [as_str(data.get("training_type"))]
    details += [
        f"{label}: {as_str(data.get(key))}"
        for key, label in (
            ("source", "source"),
            ("geographical_location", "location"),
            ("hardware_used", "hardware"),
        )
        if as_str(data.get(key))
    ]
    shown = "; ".join(d for d in details if d)
    return f"{number} g CO2eq" + (f" ({shown})" if shown else "")


def co2_from_card(card: ModelCard) -> str | None:
    """The Environmental Impact section: its filled-in fields, else its remaining prose."""
    for index in card.find(r"environmental impact"):
        section = card.text_of(index)
        lines = field_lines(section)
        if lines:
            return "; ".join(f"{label}: {plain(value)}" for label, _, value in lines)
        prose = clean_prose(section)
        if prose:
            return prose
    return None


def code_repository(card: ModelCard) -> str | None:
    """The URL of the card's ``**Repository:**`` line, if any."""
    found = fields(card.body)
    for key in REPOSITORY_FIELDS:
        if key in found:
            url = first_url(found[key])
            if url:
                return url
    return None


def reference_papers(card: ModelCard) -> list[str]:
    """Papers the card presents as its own: cited in Paper/Citation sections or ``**Paper:**``."""
    refs: list[str] = []
    for index in card.find(CITATION):
        refs += paper_refs(card.text_of(index))
    found = fields(card.body)
    for key in PAPER_FIELDS:
        refs += paper_refs(found.get(key, ""))
    return list(dict.fromkeys(refs))
