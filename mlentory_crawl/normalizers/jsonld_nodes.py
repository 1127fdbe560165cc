"""Value helpers of the JSON-LD normalizer: text, dates, languages, agents, licences, terms.

Every helper takes an interpreted JSON-LD value (see :mod:`.jsonld_terms`) as found on a page:
a string, a number, a node dict, a ``{"@id": …}`` reference or a list of those, and tolerates
all of them. Pure functions; no I/O.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from mlentory_crawl.identity import Minter, orcid_iri
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import CreativeWork, DefinedTerm, Organization, Person
from mlentory_crawl.licenses import SPDX_BASE, resolve_license, spdx_id
from mlentory_crawl.normalizers.common import (
    as_list,
    as_str,
    is_language_code,
    parse_datetime,
    truncate,
)
from mlentory_crawl.normalizers.jsonld_extract import Document, absolute, types_of

SOURCE = "jsonld"
MAX_TEXT = 20_000
MAX_LIST = 100
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
_BREAK_RE = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d)\s*/?>", re.IGNORECASE)
_YEAR_RE = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?\s*$")
_ORG_TYPES = frozenset(
    [
        "Organization",
        "Corporation",
        "ResearchOrganization",
        "EducationalOrganization",
        "CollegeOrUniversity",
        "GovernmentOrganization",
        "NGO",
        "Consortium",
        "Project",
        "ResearchProject",
        "FundingAgency",
        "LocalBusiness",
        "NewsMediaOrganization",
    ]
)
_LANGUAGE_NAMES = {
    "english": "en",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "russian": "ru",
    "arabic": "ar",
    "hindi": "hi",
    "multilingual": "mul",
}
_CC_RE = re.compile(
    r"creativecommons\.org/(?:licenses/([a-z\-]+)/(\d\.\d)|publicdomain/(zero)/1\.0)", re.I
)
_LICENSE_URL_RE = re.compile(
    r"(?:spdx\.org/licenses|opensource\.org/licenses?)/([A-Za-z0-9.+\-]+?)(?:\.html|\.json|/)?$"
)


def first(value: Any) -> Any:
    """The first item of a list value (or the value itself)."""
    items = as_list(value)
    return items[0] if items else None


def text(value: Any, builder: RecordBuilder | None = None, field: str = "") -> str | None:
    """The first usable plain text of a value (text, number or ``{name}`` node, or a list of
    those); markup stripped, entities decoded, cut to :data:`MAX_TEXT` characters (noted as
    ``field/<field>/truncated``)."""
    for item in as_list(value)[:MAX_LIST]:
        if isinstance(item, dict):
            item = first(item.get("name") or item.get("text"))
        out = _clean_text(as_str(item))
        if out:
            cut, was_cut = truncate(out, MAX_TEXT)
            if was_cut and builder is not None:
                builder.note(f"field/{field}/truncated")
            return cut
    return None


def _clean_text(out: str | None) -> str | None:
    if out is None:
        return None
    if _TAG_RE.search(out):
        out = _TAG_RE.sub("", _BREAK_RE.sub("\n", out))
    if "&" in out:
        out = html.unescape(out)
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n\n", out)).strip() or None


def texts(value: Any, split_commas: bool = False) -> list[str]:
    """Texts of a list value (``name`` of nodes); comma-separated strings split on request."""
    out: list[str] = []
    for item in as_list(value)[: MAX_LIST * 2]:
        if isinstance(item, dict):
            item = item.get("name") or item.get("termCode") or item.get("value")
        found = text(item)
        if not found:
            continue
        parts = [p.strip() for p in re.split(r"[,;]", found)] if split_commas else [found]
        out.extend(p for p in parts if p and p not in out)
    return out[:MAX_LIST]


def date(value: Any, builder: RecordBuilder, field: str) -> datetime | None:
    """The first usable date of a value: ISO text, a bare year (``2024``) or year-month.

    Dates that are present but unreadable are noted as ``field/<field>/unparsed``.
    """
    items = [v for v in as_list(value)[:10] if v is not None and v != ""]
    for raw in items:
        parsed = parse_datetime(raw)
        if parsed is None and isinstance(raw, str | int) and (match := _YEAR_RE.match(str(raw))):
            try:
                parsed = datetime(int(match.group(1)), int(match.group(2) or 1), 1, tzinfo=UTC)
            except ValueError:
                parsed = None
        if parsed is not None:
            return parsed
    if items:
        builder.note(f"field/{field}/unparsed")
    return None


def boolean(value: Any) -> bool | None:
    """``True``/``False`` from a bool or the texts ``true``/``false`` (any case)."""
    item = first(value)
    if isinstance(item, bool):
        return item
    if isinstance(item, str) and item.strip().lower() in ("true", "false"):
        return item.strip().lower() == "true"
    return None


def languages(value: Any) -> list[str]:
    """BCP 47 codes from codes, ``Language`` nodes and a few common language names."""
    out: list[str] = []
    for item in as_list(value):
        candidates = (
            [item.get("alternateName"), item.get("identifier"), item.get("name")]
            if isinstance(item, dict)
            else [item]
        )
        for candidate in candidates:
            code = as_str(first(candidate))
            if code and is_language_code(code) and len(code) <= 12:
                break
            code = _LANGUAGE_NAMES.get((code or "").lower())
            if code:
                break
        if code and code not in out:
            out.append(code)
    return out


def iris(value: Any, page_url: str) -> list[str]:
    """Absolute IRIs from URLs, ``{"@id"}``/``{url}`` nodes, resolved against the page."""
    out: list[str] = []
    for item in as_list(value)[:MAX_LIST]:
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl") or item.get("@id")
        iri = absolute(first(item), page_url)
        if iri and iri not in out:
            out.append(iri)
    return out


# ---------------------------------------------------------------------------- agents


def agent(
    value: Any, doc: Document, builder: RecordBuilder, default: str = "Person", depth: int = 0
) -> str | None:
    """Add a Person/Organization node for an agent value and return its IRI.

    Identity: ORCID (from ``@id``, ``url``, ``sameAs`` or ``identifier``), else an absolute
    ``@id``, else the ``url``, else a name-only IRI ``<base>agent/jsonld/<sha1(name)>``.
    """
    node = doc.deref(value)
    if isinstance(node, str):
        iri = None
        if "://" in node:
            iri = orcid_iri(node) if "orcid" in node.lower() else absolute(node, doc.page_url)
        if iri:
            cls = Person if default == "Person" else Organization
            return builder.add(cls(id=iri)).id
        name = text(node)
        if not name or len(name) > 300:
            return None
        iri = builder.minter.agent(SOURCE, name)
        cls = Person if default == "Person" else Organization
        return builder.add(cls(id=iri, name=name)).id
    if not isinstance(node, dict):
        return None
    types = set(types_of(node))
    is_org = bool(types & _ORG_TYPES) or ("Person" not in types and default != "Person")
    name = text(node.get("name"))
    if not name:
        parts = [text(node.get("givenName")), text(node.get("familyName"))]
        name = " ".join(p for p in parts if p) or None
    ids = [
        node.get("@id"),
        *as_list(node.get("url")),
        *as_list(node.get("sameAs")),
        *as_list(node.get("identifier")),
    ]
    orcid = next(
        (o for i in ids if isinstance(i, str) and "orcid" in i.lower() and (o := orcid_iri(i))),
        None,
    )
    iri = orcid or absolute(node.get("@id"), doc.page_url)
    url = next((u for u in (absolute(first(node.get("url")), doc.page_url),) if u), None)
    iri = iri or url
    if iri is None:
        if not name:
            return None
        iri = builder.minter.agent(SOURCE, name)
    same = [s for s in (absolute(x, doc.page_url) for x in as_list(node.get("sameAs"))) if s]
    same = [s for s in same if s != iri]
    if is_org:
        return builder.add(Organization(id=iri, name=name, url=url, sameAs=same)).id
    affiliations: list[str] = []
    if depth == 0:
        for org in as_list(node.get("affiliation"))[:10]:
            found = agent(org, doc, builder, default="Organization", depth=1)
            if found:
                affiliations.append(found)
    person = Person(id=iri, name=name, url=url, sameAs=same, affiliation=affiliations)
    return builder.add(person).id


def agents(value: Any, doc: Document, builder: RecordBuilder, default: str = "Person") -> list[str]:
    """IRIs of the agents of a list value (see :func:`agent`)."""
    out: list[str] = []
    for item in as_list(value)[:MAX_LIST]:
        found = agent(item, doc, builder, default)
        if found and found not in out:
            out.append(found)
    return out


# ---------------------------------------------------------------------------- licences


def _spdx_from_url(url: str) -> str | None:
    cc = _CC_RE.search(url)
    if cc:
        if cc.group(3):
            return "CC0-1.0"
        return spdx_id(f"CC-{cc.group(1).upper()}-{cc.group(2)}")
    match = _LICENSE_URL_RE.search(url.split("?")[0].split("#")[0])
    return spdx_id(match.group(1)) if match else None


def license_iri(value: Any, doc: Document, builder: RecordBuilder) -> str | None:
    """Add a licence node (SPDX when recognisable, else a named licence) and return its IRI."""
    node = doc.deref(value)
    name = link = None
    candidates: list[str] = []
    if isinstance(node, dict):
        name = text(node.get("name"))
        link = absolute(first(node.get("url")), doc.page_url) or absolute(
            node.get("@id"), doc.page_url
        )
        candidates = [c for c in (link, as_str(first(node.get("identifier"))), name) if c]
    elif isinstance(node, str):
        candidates = [node.strip()]
        link = absolute(node, doc.page_url) if "://" in node else None
    for candidate in candidates:
        spdx = _spdx_from_url(candidate) if "://" in candidate else spdx_id(candidate)
        if spdx:
            iri = SPDX_BASE + spdx
            builder.add(CreativeWork(id=iri, name=spdx, identifier=[spdx], url=iri + ".html"))
            return iri
    if not candidates:
        return None
    ref = resolve_license(
        name or candidates[0], source=SOURCE, base=builder.minter.base, name=name, link=link
    )
    if ref is None:
        return None
    builder.add(CreativeWork(id=ref.iri, name=ref.name, url=ref.url))
    builder.note("license/non_spdx")
    return ref.iri


# ---------------------------------------------------------------------------- terms


def keywords(value: Any, doc: Document, builder: RecordBuilder) -> list[str]:
    """Keyword IRIs (``<base>keyword/<tag>`` DefinedTerms); comma-separated text is split."""
    out: list[str] = []
    for tag in texts(value, split_commas=True):
        if len(tag) > 200:
            continue
        iri = builder.minter.keyword(tag)
        builder.add(DefinedTerm(id=iri, name=tag))
        if iri not in out:
            out.append(iri)
    return out


def task(value: Any, doc: Document, builder: RecordBuilder, minter: Minter) -> str | None:
    """A task DefinedTerm: HF task pages map to ``task/hf/<code>``; others keep their IRI."""
    node = doc.deref(value)
    name = code = None
    iri = None
    if isinstance(node, dict):
        name = text(node.get("name"))
        code = text(node.get("termCode"))
        iri = absolute(node.get("@id"), doc.page_url) or absolute(
            first(node.get("url")), doc.page_url
        )
    elif isinstance(node, str):
        iri = absolute(node, doc.page_url) if "://" in node else None
        name = None if iri else text(node)
    hf = re.match(r"^https://huggingface\.co/tasks/([\w.\-]+)/?$", iri or "")
    if hf:
        code = hf.group(1)
        url = f"https://huggingface.co/tasks/{code}"
        iri = minter.task("hf", code)
        term = DefinedTerm(
            id=iri,
            name=name,
            termCode=code,
            url=url,
            inDefinedTermSet="https://huggingface.co/tasks",
        )
        return builder.add(term).id
    if iri is None:
        label = code or name
        if not label or len(label) > 200:
            return None
        iri = minter.task(SOURCE, label)
    return builder.add(DefinedTerm(id=iri, name=name or code, termCode=code)).id
