"""JSON-LD extraction and normalization on project-authored pages and payloads (no Scrapy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.normalizers.jsonld import normalize
from mlentory_crawl.normalizers.jsonld_blocks import extract_blocks, parse_block
from mlentory_crawl.normalizers.jsonld_extract import ml_kind, read_document, record_id
from mlentory_crawl.normalizers.jsonld_terms import interpret

DATA = Path(__file__).resolve().parents[1] / "data" / "jsonld"
BASE = "https://example.org/mlentory-crawl/"
MINTER = Minter(BASE)
ORBIT_PAGE = "https://geodesy.example.org/models/orbitnet"
ZOO_PAGE = "https://zoo.example.com/list"


def raw_record(page: str, blocks: Any, source_id: str | None = None, **extra: Any) -> RawRecord:
    return RawRecord(
        source="jsonld",
        source_id=source_id or page,
        url=page,
        api_url=page,
        retrieved_at="2026-01-15T12:00:00Z",
        payload=blocks,
        kind="page",
        job_id="test-job",
        **extra,
    )


def records_of(page: str, blocks: list[Any]) -> dict[str, FAIR4MLRecord]:
    """Every record the spider would yield for this page, normalized, by primary IRI."""
    doc = read_document(blocks, page)
    out = {}
    for entity in doc.primaries:
        record = normalize(raw_record(page, blocks, entity.record_id), MINTER)
        FAIR4MLRecord.model_validate(record.model_dump(mode="json", by_alias=True))
        out[record.primaryTopic] = record
    return out


def orbit_blocks() -> list[Any]:
    return extract_blocks((DATA / "model_page.html").read_text(encoding="utf-8")).blocks


def graph_blocks() -> list[Any]:
    return json.loads((DATA / "graph_forms.json").read_text(encoding="utf-8"))


# -- extraction -------------------------------------------------------------------------------


def test_extract_blocks_finds_ld_json_scripts_case_insensitively_with_parameters() -> None:
    found = extract_blocks((DATA / "model_page.html").read_text(encoding="utf-8"))
    assert found.scripts == 2  # the plain <script> is not JSON-LD
    assert found.invalid == 0
    assert [b["@type"] for b in found.blocks] == ["WebPage", "BreadcrumbList"]
    upper = '<SCRIPT Type="APPLICATION/LD+JSON;Charset=UTF-8">{"@type":"Dataset"}</SCRIPT>'
    assert extract_blocks(upper).blocks == [{"@type": "Dataset"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2,], "b": {"c": 1,},}', [{"a": [1, 2], "b": {"c": 1}}]),
        ("{&quot;name&quot;: &quot;x&amp;y&quot;}", [{"name": "x&y"}]),
        ('{"a": 1 /* note */, // line\n "b": "http://x//y"}', [{"a": 1, "b": "http://x//y"}]),
        ('{"a": 1}\n{"b": 2}', [{"a": 1}, {"b": 2}]),
        ('{"text": "line\nbreak"}', [{"text": "line\nbreak"}]),
    ],
)
def test_broken_json_is_repaired_and_flagged(text: str, expected: list[Any]) -> None:
    values, error, repaired = parse_block(text)
    assert (values, error, repaired) == (expected, None, True)


def test_wrappers_and_empty_scripts_are_not_errors() -> None:
    assert parse_block('<!--\n{"a": 1}\n-->') == ([{"a": 1}], None, False)
    assert parse_block('//<![CDATA[\n{"a": 1}\n//]]>') == ([{"a": 1}], None, False)
    assert parse_block("   ") == ([], None, False)


def test_truncated_json_is_unparseable_with_a_reason() -> None:
    page = (
        '<script type="application/ld+json">{"@type": "Dataset", "name": "cut</script>'
        '<script type="application/ld+json">{"@type": "Dataset", "name": "ok"}</script>'
        '<script type="application/ld+json">[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[</script>'
    )
    found = extract_blocks(page)
    assert found.blocks == [{"@type": "Dataset", "name": "ok"}]
    assert found.invalid == 2 and found.repaired == 0 and len(found.unparseable) == 2
    assert found.errors[0].startswith("JSONDecodeError: Unterminated string")


def test_deeply_nested_json_does_not_crash() -> None:
    values, error, _ = parse_block("[" * 100_000 + "]" * 100_000)
    assert values == [] or error is None  # either parsed or rejected, never an exception
    doc = read_document(
        [{"@type": "Dataset", "name": "x", "hasPart": [[[[[[[[[[[[[]]]]]]]]]]]]]}], ZOO_PAGE
    )
    assert len(doc.entities) == 1


# -- term interpretation --------------------------------------------------------------------


def test_interpret_reads_every_namespace_form_as_local_names() -> None:
    block = {
        "@context": [
            "https://schema.org",
            {"cm": "https://codemeta.github.io/terms/", "nick": "schema:alternateName"},
        ],
        "@type": ["schema:SoftwareApplication", "https://w3id.org/fair4ml/MLModel"],
        "https://schema.org/name": "A",
        "http://schema.org/description": {"@value": "D", "@language": "en"},
        "fair4ml:mlTask": "t",
        "https://w3id.org/fair4ml#trainedOn": {"@id": "../d/1"},
        "cm:readme": "https://x.example/readme",
        "nick": "a",
        "http://example.com/vocab/other": 1,
        "@reverse": {"x": 1},
    }
    out = interpret(block, "https://h.example/m/page")
    assert out == {
        "@type": ["SoftwareApplication", "MLModel"],
        "name": "A",
        "description": "D",
        "mlTask": "t",
        "trainedOn": {"@id": "https://h.example/d/1"},
        "readme": "https://x.example/readme",
        "alternateName": "a",
        "http://example.com/vocab/other": 1,
    }
    assert "@context" in block  # the payload itself is untouched


def test_unknown_vocab_terms_stay_full_iris() -> None:
    out = interpret({"@context": {"@vocab": "http://other.example/"}, "@type": "Dataset"}, ZOO_PAGE)
    assert out["@type"] == ["http://other.example/Dataset"]
    assert ml_kind(out) is None


@pytest.mark.parametrize(
    ("node", "kind"),
    [
        ({"@type": ["MLModel"]}, "MLModel"),
        ({"@type": ["SoftwareApplication"], "applicationCategory": "Machine Learning"}, "MLModel"),
        ({"@type": ["SoftwareApplication"], "applicationCategory": "AI"}, "MLModel"),
        ({"@type": ["SoftwareApplication"], "keywords": "deep learning, audio"}, "MLModel"),
        ({"@type": ["SoftwareApplication"], "mlTask": "x"}, "MLModel"),
        (
            {
                "@type": ["SoftwareApplication"],
                "additionalType": "https://w3id.org/fair4ml#MLModel",
            },
            "MLModel",
        ),
        ({"@type": ["SoftwareApplication"], "keywords": ["AI", "chat"]}, None),
        ({"@type": ["SoftwareApplication"], "description": "uses machine learning"}, None),
        ({"@type": ["SoftwareApplication"], "applicationCategory": "GameApplication"}, None),
        ({"@type": ["Dataset"]}, "Dataset"),
        ({"@type": ["ScholarlyArticle"]}, "ScholarlyArticle"),
        ({"@type": ["Article"]}, None),
    ],
)
def test_ml_relevance_is_conservative(node: dict[str, Any], kind: str | None) -> None:
    assert ml_kind(node) == kind


# -- documents: entities, IRIs, primaries ------------------------------------------------------


def test_graph_forms_give_entities_iris_and_primaries() -> None:
    doc = read_document(graph_blocks(), ZOO_PAGE)
    kinds = {e.iri: e.kind for e in doc.entities.values()}
    assert kinds == {
        "https://zoo.example.com/m/alpha": "MLModel",
        "https://zoo.example.com/d/reviews": "Dataset",
        "https://zoo.example.com/m/beta": "MLModel",
        "https://zoo.example.com/list#gamma": "MLModel",
        "https://arxiv.org/abs/2301.07041": "ScholarlyArticle",
    }
    # the dataset is linked from Alpha (trainedOn) and so is no record of its own
    assert [e.iri for e in doc.primaries] == [
        "https://zoo.example.com/m/alpha",
        "https://zoo.example.com/m/beta",
        "https://zoo.example.com/list#gamma",
        "https://arxiv.org/abs/2301.07041",
    ]
    assert (
        record_id(ZOO_PAGE, "https://zoo.example.com/list#gamma")
        == "https://zoo.example.com/list#gamma"
    )
    assert record_id(ZOO_PAGE, "https://zoo.example.com/m/beta") == (
        "https://zoo.example.com/list#https://zoo.example.com/m/beta"
    )


def test_every_model_of_a_page_is_a_record_even_when_another_links_to_it() -> None:
    blocks = [
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@id": "#big", "@type": "fair4ml:MLModel", "name": "Big"},
                {
                    "@id": "#small",
                    "@type": "fair4ml:MLModel",
                    "name": "Small",
                    "fair4ml:fineTunedFrom": {"@id": "#big"},
                },
            ],
        }
    ]
    records = records_of(ZOO_PAGE, blocks)
    assert set(records) == {ZOO_PAGE + "#big", ZOO_PAGE + "#small"}
    small = records[ZOO_PAGE + "#small"]
    assert small.primary.fineTunedFrom == [ZOO_PAGE + "#big"]  # type: ignore[attr-defined]
    assert small.node(ZOO_PAGE + "#big").name == "Big"  # type: ignore[union-attr]


# -- normalization ----------------------------------------------------------------------------


def test_model_page_maps_to_fair4ml_values() -> None:
    records = records_of(ORBIT_PAGE, orbit_blocks())
    assert list(records) == [ORBIT_PAGE + "#model"]
    record = records[ORBIT_PAGE + "#model"]
    model = record.primary
    assert model.type_name == "MLModel"
    assert record.provenance.sourceId == ORBIT_PAGE + "#model"
    assert record.provenance.apiUrl == ORBIT_PAGE
    assert model.name == "OrbitNet"
    assert (
        model.description
        == "Predicts satellite orbit corrections from GNSS observations & weather data."
    )
    assert model.url == ORBIT_PAGE
    assert model.version == "1.4"  # type: ignore[attr-defined]
    assert model.dateCreated.isoformat() == "2024-05-01T06:30:00+00:00"  # type: ignore[attr-defined]
    assert model.license == ["https://spdx.org/licenses/Apache-2.0"]  # type: ignore[attr-defined]
    assert model.author == ["https://orcid.org/0000-0001-5109-3700"]  # type: ignore[attr-defined]
    assert model.maintainer == ["https://geodesy.example.org/#lab"]  # type: ignore[attr-defined]
    assert model.keywords == [
        BASE + "keyword/geodesy",
        BASE + "keyword/gnss",
        BASE + "keyword/transformer",
    ]  # type: ignore[attr-defined]
    assert model.mlTask == [BASE + "task/jsonld/time-series-forecasting"]  # type: ignore[attr-defined]
    assert model.trainedOn == [  # type: ignore[attr-defined]
        "https://data.geodesy.example.org/igs-orbits",
        "https://huggingface.co/datasets/geodesy-lab/gnss-weather",
    ]
    assert model.validatedOn == [BASE + "dataset/jsonld/gnss-2023-validation-split"]  # type: ignore[attr-defined]
    assert model.fineTunedFrom == ["https://huggingface.co/geodesy-lab/orbit-base"]  # type: ignore[attr-defined]
    assert model.ethicalSocial == model.legal == "No personal data."  # type: ignore[attr-defined]
    assert model.referencePublication == ["https://arxiv.org/abs/2401.00001"]  # type: ignore[attr-defined]
    assert model.codeRepository == ["https://github.com/geodesy-lab/orbitnet"]  # type: ignore[attr-defined]
    assert model.issueTracker == ["https://github.com/geodesy-lab/orbitnet/issues"]  # type: ignore[attr-defined]
    assert model.image == ["https://geodesy.example.org/img/orbitnet.png"]  # type: ignore[attr-defined]
    assert model.inLanguage == ["en"]  # type: ignore[attr-defined]
    grant = record.node(model.funding[0])  # type: ignore[attr-defined]
    assert grant is not None and grant.funder == ["Example Science Foundation"]  # type: ignore[attr-defined]
    assert grant.identifier == ["EX-2023-117"]
    person = record.node("https://orcid.org/0000-0001-5109-3700")
    assert person is not None and person.type_name == "Person" and person.name == "Kwame Mensah"
    dataset = record.node("https://data.geodesy.example.org/igs-orbits")
    assert dataset is not None and dataset.name == "IGS final orbits 2010-2022"
    assert (
        record.node(BASE + "dataset/jsonld/gnss-2023-validation-split").name
        == "GNSS 2023 validation split"
    )  # type: ignore[union-attr]


def test_graph_forms_alias_terms_merge_by_id_and_resolve_relative_urls() -> None:
    records = records_of(ZOO_PAGE, graph_blocks())
    alpha = records["https://zoo.example.com/m/alpha"].primary
    assert alpha.mlTask == [BASE + "task/jsonld/text-classification"]  # type: ignore[attr-defined]
    assert alpha.trainedOn == ["https://zoo.example.com/d/reviews"]  # type: ignore[attr-defined]
    assert alpha.keywords == [BASE + "keyword/sentiment", BASE + "keyword/reviews"]  # type: ignore[attr-defined]
    assert alpha.description == "Second block fragment merged by @id."
    assert alpha.version == "2"  # type: ignore[attr-defined]
    assert alpha.url == ZOO_PAGE  # no url of its own: the page it was found on
    reviews = records["https://zoo.example.com/m/alpha"].node("https://zoo.example.com/d/reviews")
    assert reviews is not None and reviews.type_name == "Dataset" and reviews.name == "Reviews 2025"
    beta = records["https://zoo.example.com/m/beta"].primary
    assert (beta.name, beta.url) == ("Beta", "https://zoo.example.com/m/beta")
    gamma = records[ZOO_PAGE + "#gamma"].primary
    assert gamma.keywords == [BASE + "keyword/neural-network", BASE + "keyword/audio"]  # type: ignore[attr-defined]
    paper = records["https://arxiv.org/abs/2301.07041"].primary
    assert paper.type_name == "ScholarlyArticle"
    assert paper.name == "An unreferenced paper"


def test_hostile_values_are_tolerated_and_iris_stay_valid() -> None:
    page = "https://evil.example.net/m/a"
    blocks = json.loads((DATA / "hostile.json").read_text(encoding="utf-8"))
    records = records_of(page, blocks)
    (record,) = records.values()
    model = record.primary
    assert model.id == "https://evil.example.net/m/a%20b%3Cscript%3E%22x%22"
    assert model.name == "Hostile model"
    assert model.datePublished is None  # type: ignore[attr-defined]
    assert model.dateModified.isoformat() == "2025-06-01T00:00:00+00:00"  # type: ignore[attr-defined]
    assert model.license == [  # type: ignore[attr-defined]
        BASE + "license/jsonld/https-spdx.org-licenses-not-a-license",
        BASE + "license/jsonld/some-custom-licence",
    ]
    assert "license/non_spdx" in record.provenance.notes
    assert model.distribution == ["https://evil.example.net/file%20with%20space.bin"]  # type: ignore[attr-defined]
    assert model.inLanguage == ["en-US"]  # type: ignore[attr-defined]
    assert model.isAccessibleForFree is None  # type: ignore[attr-defined]
    assert model.author == [BASE + "agent/jsonld/" + model.author[0].rsplit("/", 1)[1]]  # type: ignore[attr-defined]
    assert "field/datePublished/unparsed" in record.provenance.notes
    for node in record.graph:
        assert node.id.startswith(("https://", "http://"))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (raw_record("not a url", []), "page URL is not an absolute"),
        (raw_record(ZOO_PAGE, "text"), "payload is not a list"),
        (raw_record(ZOO_PAGE, None), "payload is not a list"),
        (
            raw_record(ZOO_PAGE, [{"@type": "Organization", "name": "x"}]),
            "types seen: Organization",
        ),
        (
            raw_record(ZOO_PAGE, [{"@type": "Dataset", "name": "d"}], ZOO_PAGE + "#nope"),
            "not found",
        ),
        (
            raw_record(
                ZOO_PAGE,
                [],
                ZOO_PAGE + "#invalid-jsonld",
                attachments={"jsonld-0": Attachment(ZOO_PAGE, 200, '{"@type": "Dataset", "na')},
            ),
            "1 unparseable JSON-LD block(s) on https://zoo.example.com/list: JSONDecodeError",
        ),
    ],
)
def test_unusable_input_raises_a_clear_reason(raw: RawRecord, reason: str) -> None:
    with pytest.raises(NormalizationError, match=None) as info:
        normalize(raw, MINTER)
    assert reason in str(info.value)


def test_page_url_source_id_falls_back_to_the_first_primary() -> None:
    record = normalize(raw_record(ORBIT_PAGE, orbit_blocks()), MINTER)
    assert record.primaryTopic == ORBIT_PAGE + "#model"


def test_registered_under_the_source_name_and_deterministic() -> None:
    raw = raw_record(ORBIT_PAGE, orbit_blocks(), ORBIT_PAGE + "#model")
    first = get_normalizer("jsonld")(raw, MINTER).model_dump(mode="json", by_alias=True)
    second = normalize(raw, MINTER).model_dump(mode="json", by_alias=True)
    assert first == second
    assert raw.payload == orbit_blocks()  # the payload is not modified
