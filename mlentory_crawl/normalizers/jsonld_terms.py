"""Read compact JSON-LD keys and types as local schema.org / FAIR4ML / CodeMeta names.

A small stand-in for a JSON-LD processor that never fetches a remote ``@context``: keys and
``@type`` values in every common form become one local name.

==============================================  ======================
Form on the page                                Local name
==============================================  ======================
``name``, ``schema:name``, ``sc:name``          ``name``
``http(s)://schema.org/name``                   ``name``
``fair4ml:mlTask``, ``https://w3id.org/fair4ml#mlTask``, ``…/fair4ml/mlTask``  ``mlTask``
``codemeta:readme``, CodeMeta term IRIs         ``readme``
``dct:conformsTo``                              ``conformsTo``
``cr:citeAs`` (Croissant)                       ``cr:citeAs``
an inline ``@context`` alias or prefix          what it expands to
a term under an unknown ``@vocab`` or IRI       the full IRI (ignored downstream)
==============================================  ======================

Remote contexts named by IRI (``https://schema.org``, the FAIR4ML or CodeMeta context) are
recognised by name only. Bare FAIR4ML property names (``mlTask``) are read as FAIR4ML even
though FAIR4ML's own context does not alias them (fair4ml.md §9 erratum 6): the intent is clear
and dropping them would lose the most useful fields. ``@value`` objects become their value,
``@list``/``@set`` their items; relative ``@id`` values are resolved against the page URL.
Pure functions; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

MAX_DEPTH = 60
_LOCAL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)

#: Namespaces whose terms become bare local names (schema.org, FAIR4ML, CodeMeta).
LOCAL_NAMESPACES = (
    "http://schema.org/",
    "https://schema.org/",
    "http://www.schema.org/",
    "https://www.schema.org/",
    "https://w3id.org/fair4ml#",
    "https://w3id.org/fair4ml/",
    "http://w3id.org/fair4ml#",
    "http://w3id.org/fair4ml/",
    "https://w3id.org/codemeta/terms/",
    "https://w3id.org/codemeta/",
    "https://codemeta.github.io/terms/",
)
#: Namespaces kept with a prefix (their names may clash with schema.org's).
PREFIXED_NAMESPACES = {
    "http://purl.org/dc/terms/": "dct:",
    "http://mlcommons.org/croissant/": "cr:",
    "http://mlcommons.org/croissant/1.0/": "cr:",
    "http://mlcommons.org/croissant/1.1/": "cr:",
}
#: Prefixes understood without a definition on the page.
KNOWN_PREFIXES = {
    "schema": "http://schema.org/",
    "sdo": "http://schema.org/",
    "sc": "https://schema.org/",
    "fair4ml": "https://w3id.org/fair4ml#",
    "codemeta": "https://w3id.org/codemeta/",
    "dct": "http://purl.org/dc/terms/",
    "dcterms": "http://purl.org/dc/terms/",
    "cr": "http://mlcommons.org/croissant/",
}
_TERM_RENAMES = {"dct:conformsTo": "conformsTo"}


@dataclass
class Context:
    """The active context: term definitions (aliases and prefixes) and ``@vocab``."""

    terms: dict[str, str] = field(default_factory=dict)
    vocab: str | None = None

    def extended(self, value: Any) -> Context:
        """This context with an ``@context`` value applied (remote IRIs by name only)."""
        ctx = Context(dict(self.terms), self.vocab)
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                ctx = Context()
            elif isinstance(item, str):
                if "schema.org" in item.lower():
                    ctx.vocab = "http://schema.org/"
            elif isinstance(item, dict):
                ctx._define(item)
        return ctx

    def _define(self, definitions: dict[str, Any]) -> None:
        for term, definition in definitions.items():
            if term == "@vocab":
                self.vocab = definition if isinstance(definition, str) else None
            elif term.startswith("@"):
                continue
            elif isinstance(definition, str):
                self.terms[term] = definition
            elif isinstance(definition, dict) and isinstance(definition.get("@id"), str):
                self.terms[term] = definition["@id"]
            elif definition is None:
                self.terms.pop(term, None)

    def expand(self, term: str) -> str:
        """The local name (or full IRI, or keyword) a key or type stands for."""
        seen = 0
        while term in self.terms and seen < 8:
            target = self.terms[term]
            if target == term:
                break
            term, seen = target, seen + 1
        if term.startswith("@"):
            return term
        if ":" in term:
            prefix, local = term.split(":", 1)
            if not local.startswith("//"):
                namespace = self.terms.get(prefix) or KNOWN_PREFIXES.get(prefix.lower())
                if namespace and not namespace.startswith("@"):
                    term = namespace + local
        elif self.vocab:
            term = self.vocab + term
        return compact(term)


def compact(iri: str) -> str:
    """A full term IRI as its local name, when it is in a known namespace."""
    for namespace in LOCAL_NAMESPACES:
        if iri.startswith(namespace):
            local = iri[len(namespace) :]
            if _LOCAL_RE.match(local):
                return local
    for namespace, prefix in PREFIXED_NAMESPACES.items():
        if iri.startswith(namespace):
            local = iri[len(namespace) :]
            if _LOCAL_RE.match(local):
                return _TERM_RENAMES.get(prefix + local, prefix + local)
    return iri


def resolve_id(value: str, page_url: str) -> str:
    """Resolve an ``@id`` against the page; blank-node ids (``_:x``) stay as they are."""
    text = value.strip()
    if text.startswith("_:") or _SCHEME_RE.match(text):
        return text
    return urljoin(page_url, text)


def interpret(value: Any, page_url: str, ctx: Context | None = None, depth: int = 0) -> Any:
    """Rewrite a parsed JSON-LD value: local names for keys and types, resolved ``@id``.

    The input is not modified; the result holds new dicts and lists (scalars are shared).
    Values nested deeper than :data:`MAX_DEPTH` are dropped.
    """
    if depth > MAX_DEPTH:
        return None
    ctx = ctx or Context()
    if isinstance(value, list):
        return [interpret(item, page_url, ctx, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    if "@context" in value:
        ctx = ctx.extended(value["@context"])
    if "@value" in value:
        return value["@value"]
    for keyword in ("@list", "@set"):
        if keyword in value:
            return interpret(value[keyword], page_url, ctx, depth + 1)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key == "@context":
            continue
        name = ctx.expand(key)
        if name == "@id":
            if isinstance(item, str) and item.strip():
                out["@id"] = resolve_id(item, page_url)
        elif name == "@type":
            types = item if isinstance(item, list) else [item]
            out["@type"] = [ctx.expand(t) for t in types if isinstance(t, str) and t.strip()]
        elif name == "@graph":
            out["@graph"] = interpret(item, page_url, ctx, depth + 1)
        elif name.startswith("@"):
            continue
        else:
            new = interpret(item, page_url, ctx, depth + 1)
            if name in out:
                old = out[name] if isinstance(out[name], list) else [out[name]]
                out[name] = old + (new if isinstance(new, list) else [new])
            else:
                out[name] = new
    return out
