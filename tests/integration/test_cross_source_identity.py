"""One identity across sources: a paper and a dataset reached from two sources are one node.

Harvests the packaged Hugging Face replay sample and the PapersWithCode replay sample into one
``DATA_DIR``. They share, each in its own spelling:

* the paper arXiv:1911.02116. The Hub names it by the tag ``arxiv:1911.02116``; PwC by
  ``arxiv_id``, by ``url_abs`` ``https://arxiv.org/abs/1911.02116v2``, and (leaderboard rows,
  methods) only by its PwC page, resolved through the spider's paper index;
* the Hub dataset ``fjordlab/nordic-reviews``: a training dataset of a Hub model, and the
  Hub data loader of the PwC dataset "Nordic Reviews" (strong evidence: ``sameAs``);
* the Hub model ``fjordlab/fjord-sentiment-xlm``: a PwC leaderboard row's ``model_links``.

Weaker evidence links without merging: the PwC dataset "Tweet Sentiment NO" and the Hub dataset
``fjordlab/tweet-sentiment-no`` share only a name (no link is invented); PwC datasets
``closeMatch`` the name-minted datasets of the evaluation tables.

The files are checked always; Neo4j when a test server is reachable (the ``graph`` fixture of
``conftest.py``: skipped locally without one, a failure under ``MLENTORY_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI
from mlentory_crawl.replay import ReplayServer, sample_root

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Namespace("http://schema.org/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
PAPER = "https://arxiv.org/abs/1911.02116"
PAPER_FORMS = (
    "https://arxiv.org/abs/1911.02116v2",
    "http://arxiv.org/abs/1911.02116",
    "https://doi.org/10.48550/arxiv.1911.02116",
    "https://paperswithcode.com/paper/unsupervised-cross-lingual-representation-1",
)
HUB_DATASET = "https://huggingface.co/datasets/fjordlab/nordic-reviews"
PWC_DATASET = "https://paperswithcode.com/dataset/nordic-reviews"
HUB_MODEL = "https://huggingface.co/fjordlab/fjord-sentiment-xlm"
SOURCES = ("huggingface", "paperswithcode")
pytestmark = pytest.mark.slow


def harvest(data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
    """``scrapy crawl huggingface`` then ``paperswithcode``, both into ``data_dir``."""
    with (
        ReplayServer(sample_root("huggingface")) as hub,
        ReplayServer(sample_root("paperswithcode")) as pwc,
    ):
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "ELASTICSEARCH_"))
        }
        env |= {
            "DATA_DIR": str(data_dir),
            "HF_ENDPOINT": hub.url,
            "PWC_DUMPS_URL": pwc.url,
            "AUTOTHROTTLE_ENABLED": "0",
            "JOB_ID": "cross-source",
            "LOG_LEVEL": "INFO",
            **(extra_env or {}),
        }
        for source in SOURCES:
            proc = subprocess.run(
                [sys.executable, "-m", "scrapy", "crawl", source],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr[-4000:]
            assert "'finish_reason': 'finished'" in proc.stderr, proc.stderr[-4000:]
            if env.get("NEO4J_URI"):  # every record reached the graph
                stats = dict(re.findall(r"'([^']+)': (\d+)[,}]", proc.stderr))
                assert stats.get("neo4j/records_upserted") == stats["fair4ml/records/normalized"], (
                    source, {k: v for k, v in stats.items() if k.startswith("neo4j/")},
                    [line for line in proc.stderr.splitlines() if "Neo4j refused" in line][:2],
                )  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cross-source")
    harvest(folder)
    return folder


def records(data_dir: Path, source: str) -> list[FAIR4MLRecord]:
    folder = data_dir / "normalized" / source
    return [
        FAIR4MLRecord.model_validate(json.loads(line))
        for part in sorted(folder.rglob("part-*.jsonl"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]


def nodes(data_dir: Path) -> Iterator[tuple[str, Any]]:
    """``(source, node)`` for every node of every record of both sources."""
    for source in SOURCES:
        for record in records(data_dir, source):
            for node in record.graph:
                yield source, node


@pytest.fixture(scope="module")
def rdf(data_dir: Path) -> Graph:
    """Every Turtle part of both sources, loaded into one graph (as a triple store would)."""
    graph = Graph()
    parts = sorted((data_dir / "rdf").rglob("part-*.ttl"))
    assert {p.parent.parent.name for p in parts} == set(SOURCES)
    for part in parts:
        graph.parse(part, format="turtle")
    return graph


def test_both_sources_harvested(data_dir: Path) -> None:
    assert len(records(data_dir, "huggingface")) == 13
    assert len(records(data_dir, "paperswithcode")) == 19


def test_the_shared_paper_is_one_iri_in_every_file(data_dir: Path) -> None:
    seen = [(source, node) for source, node in nodes(data_dir) if "1911.02116" in node.id]
    assert {source for source, _ in seen} == set(SOURCES)  # both sources reach it ...
    assert {node.id for _, node in seen} == {PAPER}  # ... under one IRI
    assert {node.type_name for _, node in seen} == {"ScholarlyArticle"}
    for _, node in nodes(data_dir):
        assert node.id not in PAPER_FORMS, f"a second node for the paper: {node.id}"
    # every reference to the paper, from either source, uses the canonical IRI
    referring = {
        source
        for source, node in nodes(data_dir)
        for name in ("citation", "referencePublication")
        if PAPER in getattr(node, name, [])
    }
    assert referring == set(SOURCES)


def test_the_shared_paper_is_one_node_in_the_merged_rdf(rdf: Graph) -> None:
    papers = set(rdf.subjects(SCHEMA.identifier, Literal("arXiv:1911.02116")))
    assert papers == {URIRef(PAPER)}
    assert set(rdf.objects(URIRef(PAPER), RDF.type)) == {SCHEMA.ScholarlyArticle}
    for form in PAPER_FORMS:
        assert (URIRef(form), RDF.type, None) not in rdf
    # the Hub model cites it; PwC's leaderboard row model and code repository point to it
    citers = set(rdf.subjects(SCHEMA.citation, URIRef(PAPER)))
    referencing = set(rdf.subjects(URIRef("https://w3id.org/codemeta/referencePublication"),
                                   URIRef(PAPER)))  # fmt: skip
    assert URIRef(HUB_MODEL) in citers
    assert URIRef("https://github.com/facebookresearch/fairseq") in referencing
    assert any(str(s).startswith(DEFAULT_BASE_IRI + "model/pwc/") for s in referencing)
    assert (URIRef(PAPER), SCHEMA.sameAs,
            URIRef("https://paperswithcode.com/paper/unsupervised-cross-lingual-representation-1")
            ) in rdf  # fmt: skip


def test_the_shared_dataset_is_one_node(data_dir: Path, rdf: Graph) -> None:
    seen = [(s, n) for s, n in nodes(data_dir) if n.id == HUB_DATASET]
    assert {source for source, _ in seen} == set(SOURCES)
    # both sources describe the node the same way, so it merges without conflict
    assert {(n.type_name, n.name, n.url, tuple(n.identifier)) for _, n in seen} == {
        ("Dataset", "fjordlab/nordic-reviews", HUB_DATASET, ("fjordlab/nordic-reviews",))
    }
    hub = URIRef(HUB_DATASET)
    assert set(rdf.subjects(SCHEMA.identifier, Literal("fjordlab/nordic-reviews"))) == {hub}
    assert set(rdf.objects(hub, RDF.type)) == {SCHEMA.Dataset}
    assert len(set(rdf.objects(hub, SCHEMA.name))) == 1
    assert (None, URIRef("https://w3id.org/fair4ml#trainedOn"), hub) in rdf  # from the Hub
    assert (URIRef(PWC_DATASET), SCHEMA.sameAs, hub) in rdf  # from PwC's data loader


def test_the_hub_model_of_a_leaderboard_row_is_the_hub_node(rdf: Graph) -> None:
    rows = set(rdf.subjects(SCHEMA.sameAs, URIRef(HUB_MODEL)))
    assert len(rows) == 1 and str(next(iter(rows))).startswith(DEFAULT_BASE_IRI + "model/pwc/")
    assert set(rdf.subjects(SCHEMA.identifier, Literal("fjordlab/fjord-sentiment-xlm"))) == {
        URIRef(HUB_MODEL)
    }


def test_weak_matches_are_linked_never_merged(rdf: Graph) -> None:
    hub_tweets = URIRef("https://huggingface.co/datasets/fjordlab/tweet-sentiment-no")
    pwc_tweets = URIRef("https://paperswithcode.com/dataset/tweet-sentiment-no")
    assert (hub_tweets, RDF.type, SCHEMA.Dataset) in rdf
    assert (pwc_tweets, RDF.type, SCHEMA.Dataset) in rdf
    assert not set(rdf.objects(pwc_tweets, SCHEMA.sameAs))  # a shared name proves nothing
    named = URIRef(DEFAULT_BASE_IRI + "dataset/pwc/tweet-sentiment-no")
    assert (pwc_tweets, SKOS.closeMatch, named) in rdf  # the leaderboard's name-only dataset
    assert (named, SCHEMA.name, Literal("Tweet Sentiment NO")) in rdf
    # tasks: PwC "Question Answering" close-matches the Hub task term, a separate node
    pwc_qa = URIRef(DEFAULT_BASE_IRI + "task/pwc/question-answering")
    assert (pwc_qa, SKOS.closeMatch, URIRef(DEFAULT_BASE_IRI + "task/hf/question-answering")) in rdf


def test_neo4j_holds_one_node_per_shared_entity(tmp_path: Path, graph: Any) -> None:
    """The same harvest into Neo4j: one ``:Resource`` per shared IRI, reached from both."""
    uri = os.environ.get("MLENTORY_TEST_NEO4J_URI") or "bolt://127.0.0.1:7687"
    password = os.environ.get("MLENTORY_TEST_NEO4J_PASSWORD", "")
    harvest(tmp_path, {"NEO4J_URI": uri, **({"NEO4J_PASSWORD": password} if password else {})})

    def query(cypher: str, **params: Any) -> list[dict[str, Any]]:
        rows, _, _ = graph.execute_query(cypher, **params)
        return [dict(r) for r in rows]

    for iri, label in ((PAPER, "ScholarlyArticle"), (HUB_DATASET, "Dataset"),
                       (HUB_MODEL, "MLModel")):  # fmt: skip
        (row,) = query("MATCH (n:Resource {iri: $iri}) RETURN count(n) AS c, "
                       "labels(n) AS labels", iri=iri)  # fmt: skip
        assert row["c"] == 1 and label in row["labels"], (iri, row)
    # the paper: relationships from records of both sources end at the one node
    (row,) = query(
        "MATCH (n:Resource {iri: $iri})<-[r]-() UNWIND r.records AS rec "
        "MATCH (x:Record {iri: rec}) RETURN collect(DISTINCT x.source) AS s",
        iri=PAPER,
    )
    assert set(row["s"]) == set(SOURCES)
    # the Hub dataset and model: Hub relationships end there; PwC names them in sameAs
    (row,) = query(
        "MATCH (d:Resource {iri: $pwc}), (h:Resource {iri: $hub})<-[:TRAINED_ON]-(m:MLModel) "
        "RETURN d.sameAs AS same, collect(m.iri) AS trained",
        pwc=PWC_DATASET, hub=HUB_DATASET,
    )  # fmt: skip
    assert HUB_DATASET in row["same"] and HUB_MODEL in row["trained"]
    (row,) = query("MATCH (m:MLModel) WHERE $hub IN m.sameAs RETURN count(m) AS c", hub=HUB_MODEL)
    assert row["c"] == 1
    (row,) = query("MATCH (n:Resource) WHERE n.iri IN $forms RETURN count(n) AS c",
                   forms=list(PAPER_FORMS))  # fmt: skip
    assert row["c"] == 0
    (row,) = query(
        "MATCH (n:ScholarlyArticle) WHERE 'arXiv:1911.02116' IN n.identifier RETURN count(n) AS c"
    )
    assert row["c"] == 1
