"""One IRI per entity: identifier normalisation and IRI minting shared by every source.

Normalise before minting (case, ``arxiv:`` prefixes, ``vN`` suffixes, DOI case, trailing
slashes) so that the same paper, dataset, licence, task or person reached from two sources
becomes one node. Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI

HF = "https://huggingface.co/"

_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)
_ARXIV_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/([^\s?#]+?)(?:\.pdf)?/?(?:[?#].*)?$", re.IGNORECASE
)
_DOI = re.compile(r"(10\.\d{4,9}/\S+)")
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
_HF_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


def sha1_hex(text: str, length: int = 20) -> str:
    """First ``length`` hex digits of the SHA-1 of ``text`` (not a security use)."""
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:length]


def slug(text: str) -> str:
    """Lowercase, ASCII-folded, trimmed, runs of non-word characters collapsed to ``-``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9.+_]+", "-", folded.lower()).strip("-")
    return out or sha1_hex(text, 12)


def path_segment(text: str) -> str:
    """Percent-encode text so that it is safe as one IRI path segment."""
    return quote(text, safe="-._~")


def repo_path(repo_id: str) -> str:
    """Percent-encode an ``owner/name`` id, keeping the single slash."""
    return "/".join(path_segment(part) for part in repo_id.split("/"))


@dataclass(frozen=True)
class ArxivId:
    """A normalised arXiv identifier and its version suffix (``v2``), if any."""

    id: str
    version: str | None = None

    @property
    def iri(self) -> str:
        """``https://arxiv.org/abs/<id>`` without the version."""
        return f"https://arxiv.org/abs/{self.id}"


def parse_arxiv(text: str) -> ArxivId | None:
    """Parse ``arxiv:2305.18290``, ``arXiv:2305.18290v2``, arXiv URLs and arXiv DOIs."""
    value = text.strip()
    doi = _ARXIV_DOI.match(value) or _ARXIV_DOI.match(strip_doi_prefix(value) or "")
    if doi:
        value = doi.group(1)
    url = _ARXIV_URL.search(value)
    if url:
        value = url.group(1)
    value = re.sub(r"^arxiv\s*:\s*", "", value, flags=re.IGNORECASE).strip().rstrip("/")
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.match(value)
        if match:
            return ArxivId(match.group(1), match.group(2))
    return None


def strip_doi_prefix(text: str) -> str | None:
    """Return the bare DOI (``10.x/y``) in lower case, from a DOI, ``doi:`` tag or URL."""
    match = _DOI.search(text.strip())
    if not match:
        return None
    return match.group(1).rstrip(".,;)").lower()


def paper_iri(text: str) -> str | None:
    """The canonical IRI of a paper given any of its identifiers (arXiv id/URL/DOI).

    arXiv wins (arXiv DOIs ``10.48550/arXiv.*`` map to the arXiv IRI); otherwise the
    lower-cased DOI under ``https://doi.org/``. Returns ``None`` for anything else.
    """
    arxiv = parse_arxiv(text)
    if arxiv:
        return arxiv.iri
    doi = strip_doi_prefix(text)
    if doi:
        return "https://doi.org/" + quote(doi, safe="/:;()._-")
    return None


def orcid_iri(text: str) -> str | None:
    """``https://orcid.org/<id>`` from a bare ORCID or an ORCID URL."""
    match = _ORCID.search(text or "")
    return f"https://orcid.org/{match.group(1).upper()}" if match else None


def hf_model_iri(repo_id: str) -> str:
    """The Hub page of a model, ``https://huggingface.co/<id>``."""
    return HF + repo_path(clean_hf_ref(repo_id))


def hf_dataset_iri(dataset_id: str) -> str:
    """The Hub page of a dataset, ``https://huggingface.co/datasets/<id>``."""
    return HF + "datasets/" + repo_path(clean_hf_ref(dataset_id, kind="datasets"))


def clean_hf_ref(ref: str, kind: str = "") -> str:
    """Strip URL prefixes and trailing slashes from a Hub repo reference."""
    value = ref.strip().rstrip("/")
    value = re.sub(r"^https?://(www\.)?huggingface\.co/", "", value)
    if kind and value.startswith(kind + "/"):
        value = value[len(kind) + 1 :]
    return value


def is_hf_repo_id(text: str) -> bool:
    """True when ``text`` looks like a Hub repo id (``owner/name`` or a legacy bare name)."""
    return bool(_HF_REPO_ID.match(clean_hf_ref(text))) and len(text) <= 200


@dataclass(frozen=True)
class Minter:
    """Mints project IRIs (tasks, keywords, evaluations, ...) under a configurable base."""

    base: str = DEFAULT_BASE_IRI

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            object.__setattr__(self, "base", self.base + "/")

    def task(self, scheme: str, code: str) -> str:
        """``<base>task/<scheme>/<slug>``."""
        return f"{self.base}task/{scheme}/{slug(code)}"

    def keyword(self, tag: str) -> str:
        """``<base>keyword/<slug>``: source-independent, so equal tags share one node."""
        return f"{self.base}keyword/{path_segment(keyword_slug(tag))}"

    def evaluation(self, key: str) -> str:
        """``<base>evaluation/<sha1(key)>``: deterministic, so re-crawls are idempotent."""
        return f"{self.base}evaluation/{sha1_hex(key)}"

    def license(self, source: str, code: str) -> str:
        """``<base>license/<source>/<slug>`` for non-SPDX licences."""
        return f"{self.base}license/{source}/{slug(code)}"

    def dataset(self, source: str, name: str) -> str:
        """``<base>dataset/<source>/<slug>`` for datasets known only by a name."""
        return f"{self.base}dataset/{source}/{slug(name)}"

    def agent(self, source: str, name: str) -> str:
        """``<base>agent/<source>/<sha1(name)>``: name-only agents never merge across sources."""
        return f"{self.base}agent/{source}/{sha1_hex(name.strip().lower())}"

    def model(self, source: str, key: str) -> str:
        """``<base>model/<source>/<sha1(key)>`` for models without a page of their own."""
        return f"{self.base}model/{source}/{sha1_hex(key)}"

    def record(self, source: str, source_id: str) -> str:
        """``<base>record/<source>/<sha1(source id)>``: the record (prov:Entity) IRI."""
        return f"{self.base}record/{source}/{sha1_hex(source_id)}"

    def job(self, job_id: str) -> str:
        """``<base>job/<job id>``: the crawl job (prov:Activity) IRI."""
        return f"{self.base}job/{path_segment(job_id)}"

    def node(self, kind: str, key: str) -> str:
        """``<base><kind>/<sha1(key)>`` for any other minted node."""
        return f"{self.base}{kind}/{sha1_hex(key)}"


def keyword_slug(tag: str) -> str:
    """Lowercase, trim, collapse whitespace to ``-`` (keeps ``:`` and ``.`` of tags)."""
    return re.sub(r"\s+", "-", tag.strip().lower())
