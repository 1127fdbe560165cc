"""PapersWithCode archive normalizer: FAIR4ML values from project-authored dump elements.

The payloads in ``tests/data/paperswithcode/`` are invented records shaped exactly like the
elements of the five archive dumps; evaluation-table trees are flattened with the spider's own
(pure) :func:`records_of`, so the envelopes are the ones a crawl produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import (
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    MLModelEvaluation,
    PropertyValue,
    ScholarlyArticle,
    SoftwareSourceCode,
)
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.items.rdf import record_to_turtle
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.normalizers.paperswithcode import normalize
from mlentory_crawl.normalizers.pwc_evaluation import metric_value
from mlentory_crawl.normalizers.pwc_refs import pwc_page, repo_iri, repo_root
from mlentory_crawl.spiders.pwc_dumps import model_record, records_of

DATA = Path(__file__).resolve().parent.parent / "data" / "paperswithcode"
BASE = "https://example.org/mlentory-crawl/"
MINTER = Minter(BASE)
HF_QA = f"{BASE}task/hf/question-answering"
PWC_QA = f"{BASE}task/pwc/question-answering"
OTTER = "https://arxiv.org/abs/2403.01234"
OTTER_PAGE = "https://paperswithcode.com/paper/sparse-otter-attention"


def elements(dump: str) -> list[Any]:
    return json.loads((DATA / f"{dump}.json").read_text(encoding="utf-8"))


def raws(dump: str) -> list[RawRecord]:
    """The RawRecords a crawl makes of a test dump (one per element, trees flattened)."""
    out = []
    for index, element in enumerate(elements(dump)):
        for kind, source_id, url, payload in records_of(dump, element, index):
            out.append(
                RawRecord(
                    source="paperswithcode",
                    source_id=source_id,
                    url=url,
                    api_url=f"file:///dumps/{dump}.json.gz",
                    retrieved_at="2026-01-01T00:00:00Z",
                    payload=payload,
                    kind=kind,
                    job_id="test",
                )
            )
    return out


def run(raw: RawRecord) -> FAIR4MLRecord:
    record = normalize(raw, MINTER)
    # every record survives a JSON round trip and serialises to parseable Turtle
    FAIR4MLRecord.model_validate_json(record.model_dump_json(by_alias=True))
    Graph().parse(data=record_to_turtle(record, BASE), format="turtle")
    return record


def node(record: FAIR4MLRecord, iri: str) -> Any:
    found = record.node(iri)
    assert found is not None, f"{iri} not in {[n.id for n in record.graph]}"
    return found


def test_registered_in_the_normalizer_registry() -> None:
    assert get_normalizer("paperswithcode") is normalize


# ----------------------------------------------------------------------------- papers


def test_arxiv_paper_is_keyed_by_the_versionless_arxiv_iri() -> None:
    record = run(raws("papers-with-abstracts")[0])
    paper = record.primary
    assert isinstance(paper, ScholarlyArticle)
    assert paper.id == OTTER and record.primaryTopic == OTTER
    assert paper.name == "Sparse Otter Attention for Long Documents"
    assert paper.version == "v3"
    assert paper.url == OTTER
    assert paper.identifier == ["arXiv:2403.01234", "openreview:OtTeR24"]
    assert paper.sameAs == [
        "https://huggingface.co/papers/2403.01234",
        OTTER_PAGE,
        "https://openreview.net/forum?id=OtTeR24",
    ]
    assert paper.abstract and paper.abstract.startswith("We propose otter attention")
    assert paper.description == "Sparse attention for long documents."
    assert paper.datePublished is not None and paper.datePublished.isoformat() == (
        "2024-03-02T00:00:00+00:00"
    )
    ada = MINTER.agent("paperswithcode", "Ada Otter")
    assert paper.author == [ada, MINTER.agent("paperswithcode", "Bo Badger")]
    assert node(record, ada).name == "Ada Otter"
    assert paper.about == [f"{BASE}task/pwc/document-classification", PWC_QA]
    assert paper.keywords == [f"{BASE}category/pwc/otter-attention", f"{BASE}category/pwc/dropout"]
    method = node(record, f"{BASE}category/pwc/otter-attention")
    assert isinstance(method, DefinedTerm)
    assert method.alternateName == ["Sparse Otter Attention"]
    assert method.inDefinedTermSet == "https://paperswithcode.com/methods"


def test_pwc_task_close_matches_the_hub_task_of_the_same_name() -> None:
    record = run(raws("papers-with-abstracts")[0])
    qa = node(record, PWC_QA)
    assert qa.name == "Question Answering" and qa.termCode == "question-answering"
    assert qa.inDefinedTermSet == "https://paperswithcode.com/sota"
    assert qa.closeMatch == [HF_QA]
    hub = node(record, HF_QA)  # written exactly as the huggingface normalizer writes it
    assert hub.url == "https://huggingface.co/tasks/question-answering"
    assert node(record, f"{BASE}task/pwc/document-classification").closeMatch == []


def test_old_style_arxiv_id_and_nips_id() -> None:
    paper = run(raws("papers-with-abstracts")[1]).primary
    assert paper.id == "https://arxiv.org/abs/cs/0112017"
    assert paper.version == "v1"
    # no Hub papers page for old-style ids; the PwC page loses its trailing slash
    assert paper.sameAs == ["https://paperswithcode.com/paper/an-old-style-arxiv-paper"]
    assert paper.identifier == ["arXiv:cs/0112017", "nips:b5c0b187fe309af0f4d35982fd961d7e"]
    assert paper.author == [] and paper.about == []


def test_doi_paper_is_keyed_by_the_lower_case_doi() -> None:
    paper = run(raws("papers-with-abstracts")[2]).primary
    assert paper.id == "https://doi.org/10.1007/s11263-024-0042-x"
    assert paper.identifier == ["10.1007/s11263-024-0042-x"]
    assert paper.sameAs == ["https://paperswithcode.com/paper/badger-nets"]
    assert paper.version is None


def test_paper_known_only_to_pwc_uses_its_normalised_page() -> None:
    record = run(raws("papers-with-abstracts")[3])
    paper = record.primary
    assert paper.id == "https://paperswithcode.com/paper/only-on-pwc"
    assert paper.url == "https://www.example.org/proceedings/only-on-pwc.html"
    assert paper.sameAs == []
    assert paper.isBasedOn == ["https://paperswithcode.com/paper/badger-nets"]
    assert isinstance(
        node(record, "https://paperswithcode.com/paper/badger-nets"), ScholarlyArticle
    )
    assert paper.author == [] and paper.keywords == [] and paper.datePublished is None


def test_hostile_paper_fields_are_tolerated_and_encoded() -> None:
    record = run(raws("papers-with-abstracts")[4])
    paper = record.primary
    assert paper.id == "https://paperswithcode.com/paper/hostile%20%3Cscript%3E"
    assert paper.name == "Hostile\npaper <script>alert(1)</script>"
    assert paper.abstract is None
    assert [node(record, a).name for a in paper.author] == ["Ünïcødé Äuthor"]
    assert paper.about == [PWC_QA]
    assert paper.keywords == [f"{BASE}category/pwc/adam"]
    assert paper.datePublished is None
    assert "field/datePublished/invalid" in record.provenance.notes


def test_paper_without_any_identifier_is_rejected() -> None:
    with pytest.raises(NormalizationError, match="paper without"):
        normalize(raws("papers-with-abstracts")[5], MINTER)


# ----------------------------------------------------------------------------- code links


def test_official_repository_links_both_ways() -> None:
    record = run(raws("links-between-papers-and-code")[0])
    repo = record.primary
    assert isinstance(repo, SoftwareSourceCode)
    assert repo.id == "https://github.com/otter-lab/otter-attention"
    assert repo.name == "otter-lab/otter-attention"
    assert repo.codeRepository == [repo.id]
    assert repo.referencePublication == [OTTER] and repo.citation == []
    assert repo.keywords == [f"{BASE}keyword/pytorch"]
    paper = node(record, OTTER)
    assert paper.codeRepository == [repo.id]
    assert paper.version == "v3"


def test_unofficial_repository_only_cites_the_paper() -> None:
    record = run(raws("links-between-papers-and-code")[1])
    repo = record.primary
    assert repo.id == "https://gitlab.com/badgers/badger-nets"
    assert repo.citation == ["https://doi.org/10.1007/s11263-024-0042-x"]
    assert repo.referencePublication == []
    assert repo.keywords == [f"{BASE}keyword/tensorflow"]  # "tf" spelled out
    assert node(record, "https://doi.org/10.1007/s11263-024-0042-x").codeRepository == []


@pytest.mark.parametrize("index", [2, 3])
def test_unusable_repository_urls_are_rejected(index: int) -> None:
    with pytest.raises(NormalizationError, match="repo_url"):
        normalize(raws("links-between-papers-and-code")[index], MINTER)


# ----------------------------------------------------------------------------- methods


def test_model_family_method_becomes_an_mlmodel() -> None:
    record = run(raws("methods")[0])
    model = record.primary
    term = f"{BASE}category/pwc/otternet"
    assert isinstance(model, MLModel)
    assert model.id == MINTER.model("pwc", f"method|{term}")
    assert model.name == "OtterNet" and model.alternateName == ["Otter Network"]
    assert model.url == "https://paperswithcode.com/method/otternet"
    assert model.identifier == ["otternet"]
    assert model.modelCategory == ["Convolutional Neural Networks", "Image Models"]
    assert model.about == [term]
    assert model.keywords == [f"{BASE}keyword/computer-vision"]
    assert model.referencePublication == [OTTER]  # from source_url: an arXiv link
    assert model.codeRepository == ["https://github.com/otter-lab/otter-attention"]
    assert model.datePublished is None  # introduced_year is a bare year: not mapped
    assert node(record, term).url == "https://paperswithcode.com/method/otternet"


def test_technique_method_stays_a_defined_term() -> None:
    record = run(raws("methods")[1])
    term = record.primary
    assert isinstance(term, DefinedTerm)
    assert term.id == f"{BASE}category/pwc/otter-dropout"
    assert term.name == "Otter Dropout" and term.alternateName == []
    assert term.termCode == "otter-dropout" and term.description is None
    assert [n.id for n in record.graph] == [term.id]


def test_placeholder_description_of_a_junk_method_is_dropped() -> None:
    record = run(raws("methods")[2])
    assert record.primary.description is None
    assert record.primary.termCode == "ooJpiued"
    assert "field/description/placeholder" in record.provenance.notes


def test_method_without_name_is_rejected() -> None:
    with pytest.raises(NormalizationError, match="method without a name"):
        normalize(raws("methods")[3], MINTER)


# ----------------------------------------------------------------------------- datasets


def test_dataset_links_its_hub_and_openml_twins_and_name_variants() -> None:
    record = run(raws("datasets")[0])
    data = record.primary
    assert isinstance(data, Dataset)
    assert data.id == "https://paperswithcode.com/dataset/otterqa"
    hub = "https://huggingface.co/datasets/otter-lab/otterqa"
    assert data.sameAs == [hub, "https://www.openml.org/d/45123"]
    hub_node = node(record, hub)  # as the huggingface normalizer writes it: one node
    assert (hub_node.name, hub_node.url, hub_node.identifier) == (
        "otter-lab/otterqa", hub, ["otter-lab/otterqa"],
    )  # fmt: skip
    assert data.closeMatch == [f"{BASE}dataset/pwc/otterqa", f"{BASE}dataset/pwc/otterqa-2.0"]
    assert node(record, f"{BASE}dataset/pwc/otterqa-2.0").name == "OtterQA 2.0"
    assert data.alternateName == ["Otter Question Answering", "OtterQA 2.0"]
    assert data.url == "https://otter-lab.example.org/otterqa"
    assert data.inLanguage == ["en", "Klingon"]
    assert data.keywords == [f"{BASE}keyword/texts", f"{BASE}keyword/tabular"]
    assert data.about == [PWC_QA]
    assert data.citation == [OTTER_PAGE]  # no paper index attachment: the PwC page
    assert "link/sameAs/hf_dataset" in record.provenance.notes


def test_paper_index_attachment_turns_a_pwc_page_into_the_arxiv_iri() -> None:
    raw = raws("datasets")[0]
    raw.attachments["papers"] = Attachment(
        url="file:///index.sqlite3",
        status=200,
        text=json.dumps({OTTER_PAGE: {"arxiv_id": "2403.01234", "url_abs": f"{OTTER}v3"}}),
    )
    record = run(raw)
    assert record.primary.citation == [OTTER]
    paper = node(record, OTTER)
    assert OTTER_PAGE in paper.sameAs and paper.version == "v3"
    assert "link/paper/resolved_by_index" in record.provenance.notes
    raw.attachments["papers"].text = "{not json"
    record = run(raw)
    assert record.primary.citation == [OTTER_PAGE]
    assert "attachment/papers/invalid" in record.provenance.notes


def test_dataset_with_legacy_hub_loader_and_odd_fields() -> None:
    record = run(raws("datasets")[1])
    data = record.primary
    assert data.sameAs == ["https://huggingface.co/datasets/badger_images"]
    assert data.url == "https://paperswithcode.com/dataset/badger-images"  # homepage unusable
    assert data.keywords == [f"{BASE}keyword/images"]
    assert data.alternateName == [] and data.description is None


def test_dataset_without_page_is_name_minted() -> None:
    record = run(raws("datasets")[2])
    assert record.primary.id == f"{BASE}dataset/pwc/nameless-page"
    assert record.primary.closeMatch == []
    assert "field/url/missing" in record.provenance.notes


def test_dataset_without_page_and_name_is_rejected() -> None:
    with pytest.raises(NormalizationError, match="dataset without url and name"):
        normalize(raws("datasets")[3], MINTER)


# ----------------------------------------------------------------------------- evaluation tables


def tables() -> dict[str, RawRecord]:
    """Task records and model records (rows regrouped by model key, as the spider does)."""
    out: dict[str, RawRecord] = {}
    groups: dict[str, list[Any]] = {}
    for raw in raws("evaluation-tables"):
        if raw.kind == "row":
            groups.setdefault(raw.source_id, []).append(raw.payload)
        else:
            out[raw.source_id] = raw
    for key in sorted(groups):
        kind, source_id, url, payload = model_record(key, groups[key])
        out[source_id] = RawRecord(
            "paperswithcode", source_id, url, "file:///dumps/evaluation-tables.json.gz",
            "2026-01-01T00:00:00Z", payload, kind=kind, job_id="test",
        )  # fmt: skip
    return out


OTTERNET = f"{OTTER_PAGE}|OtterNet-L"


def test_tree_is_flattened_into_tasks_and_rows() -> None:
    kinds = [(r.kind, r.source_id) for r in raws("evaluation-tables")]
    assert kinds[:4] == [
        ("task", "Question Answering"),
        ("row", OTTERNET),
        ("row", "https://arxiv.org/abs/2403.01234v2|Human performance"),
        ("row", "|Anonymous (ensemble)"),
    ]
    assert ("task", "Question Answering > Open-Domain Question Answering") in kinds
    assert sum(1 for k, _ in kinds if k == "row") == 7
    task = tables()["Question Answering"].payload
    assert task["parents"] == [] and "datasets" not in task["task"]
    assert "rows" not in task["datasets"][0]["sota"]
    assert "rows" not in task["datasets"][0]["subdatasets"][0]["sota"]
    assert task["datasets"][1] == "not a dataset object"


def test_task_record_carries_its_benchmark_datasets() -> None:
    record = run(tables()["Question Answering"])
    assert record.primary.id == PWC_QA
    assert record.primary.description == "Answer questions (test payload)."
    data = node(record, "https://paperswithcode.com/dataset/otterqa")
    assert data.name == "OtterQA" and data.description == "The OtterQA leaderboard."
    assert data.sameAs == ["https://huggingface.co/datasets/otter-lab/otterqa"]
    assert data.url == "https://otter-lab.example.org/otterqa"
    assert data.citation == [OTTER]
    assert data.about == [PWC_QA]
    assert "field/dataset/invalid" in record.provenance.notes  # "not a dataset object"
    sub = run(tables()["Question Answering > Open-Domain Question Answering"])
    assert sub.primary.alternateName == ["ODQA", "Open QA"]
    assert sub.primary.url == "https://paperswithcode.com/task/open-domain-question-answering"
    trivia = node(sub, f"{BASE}dataset/pwc/otter-trivia")  # known by name only
    assert trivia.name == "Otter Trivia" and trivia.about == [sub.primary.id]


def test_model_record_gathers_every_row_of_the_model() -> None:
    record = run(tables()[OTTERNET])
    model = record.primary
    assert isinstance(model, MLModel)
    assert model.id == MINTER.model("pwc", OTTERNET)
    assert model.name == "OtterNet-L"
    odqa = f"{BASE}task/pwc/open-domain-question-answering"
    assert model.mlTask == [PWC_QA, odqa]
    assert model.evaluatedOn == [
        "https://paperswithcode.com/dataset/otterqa", f"{BASE}dataset/pwc/otter-trivia",
    ]  # fmt: skip
    assert model.referencePublication == [OTTER_PAGE]
    assert model.codeRepository == ["https://github.com/otter-lab/otter-attention"]
    assert model.sameAs == [
        "https://huggingface.co/otter-lab/otternet-l",
        "https://github.com/otter-lab/otter-attention/releases/tag/v1",
    ]
    assert node(record, "https://huggingface.co/otter-lab/otternet-l").name == (
        "otter-lab/otternet-l"
    )
    evaluations = [node(record, e) for e in model.hasEvaluation]
    assert [e.name for e in evaluations] == [
        "OtterNet-L on OtterQA (Question Answering)",
        "OtterNet-L on OtterQA / Hard split (Question Answering)",
        "OtterNet-L on Otter Trivia (Open-Domain Question Answering)",
    ]
    first = evaluations[0]
    assert isinstance(first, MLModelEvaluation)
    assert first.evaluatedMLModel == [model.id]
    assert first.evaluationDataset == ["https://paperswithcode.com/dataset/otterqa"]
    assert evaluations[1].evaluationDataset == first.evaluationDataset
    assert first.evaluationMetrics == ["EM", "F1", "Params", "Speed"]
    assert first.description == "Uses additional training data: yes"
    assert first.about == [PWC_QA] and first.extrinsicEvaluation is None
    assert first.datePublished is not None
    values = {
        pv.propertyID: pv
        for pv in record.graph
        if isinstance(pv, PropertyValue) and pv.id.startswith(first.id + "#")
    }
    assert first.evaluationResults == [values[m].id for m in ("EM", "F1", "Params", "Speed")]
    assert values["EM"].id == f"{first.id}#em"
    assert (values["EM"].value, values["EM"].unitText, values["EM"].description) == (
        79.3, "%", None,
    )  # fmt: skip
    assert (values["F1"].value, values["F1"].description) == (86.1, "86.1 ± 0.4")
    assert (values["Params"].value, values["Params"].description) == (340, "340M")
    assert values["Speed"].value == "fast"
    assert "field/evaluationResults/not_numeric" in record.provenance.notes


def test_model_with_arxiv_paper_url_and_odd_metric_cells() -> None:
    record = run(tables()["https://arxiv.org/abs/2403.01234v2|Human performance"])
    assert record.primary.referencePublication == [OTTER]
    assert node(record, OTTER).name is None  # the "title" was a URL
    assert node(record, OTTER).version == "v2"
    values = {pv.propertyID: pv.value for pv in record.graph if isinstance(pv, PropertyValue)}
    assert values == {"EM": 91, "F1": 95.5}
    assert "field/evaluationResults/unusable" in record.provenance.notes
    evaluation = next(n for n in record.graph if isinstance(n, MLModelEvaluation))
    assert evaluation.description is None and evaluation.datePublished is None


def test_two_rows_of_one_model_are_two_evaluations_of_one_model() -> None:
    record = run(tables()["|Anonymous (ensemble)"])
    model = record.primary
    assert model.id == MINTER.model("pwc", "|Anonymous (ensemble)")
    assert len(model.hasEvaluation) == 2 and model.referencePublication == []
    assert "field/referencePublication/missing" in record.provenance.notes
    values = [
        (pv.id.rsplit("/", 1)[-1].split("#")[0], pv.propertyID, pv.value)
        for pv in record.graph
        if isinstance(pv, PropertyValue)
    ]
    first, second = (e.rsplit("/", 1)[-1] for e in model.hasEvaluation)
    assert values == [
        (first, "EM", 70.1), (first, "F1", 1024.5), (second, "EM", 69.0),  # "-": no value
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source_id", "reason"),
    [
        ("|", "without model_name"),
        ("evaluation-tables#1", "task without a name"),
        ("evaluation-tables#2:", "expected a JSON object|task without a name"),
    ],
)
def test_unusable_tree_parts_are_rejected(source_id: str, reason: str) -> None:
    with pytest.raises(NormalizationError, match=reason):
        normalize(tables()[source_id], MINTER)


def test_model_record_without_results_is_rejected() -> None:
    raw = tables()[OTTERNET]
    raw.payload = {**raw.payload, "results": ["junk"]}
    with pytest.raises(NormalizationError, match="without results"):
        normalize(raw, MINTER)
    raw.payload = {**raw.payload, "results": [{"dataset": None, "row": {}}]}
    with pytest.raises(NormalizationError, match="without a usable result"):
        normalize(raw, MINTER)


def test_normalization_is_deterministic() -> None:
    for raw in list(tables().values()) + raws("papers-with-abstracts")[:4]:
        try:
            first = normalize(raw, MINTER).model_dump_json(by_alias=True)
        except NormalizationError:
            continue
        assert normalize(raw, MINTER).model_dump_json(by_alias=True) == first


def test_unknown_kind_and_non_object_payloads_are_rejected() -> None:
    raw = raws("methods")[0]
    raw.kind = "leaderboard"
    with pytest.raises(NormalizationError, match="unknown paperswithcode record kind"):
        normalize(raw, MINTER)
    raw.kind, raw.payload = "method", ["a", "list"]
    with pytest.raises(NormalizationError, match="expected a JSON object"):
        normalize(raw, MINTER)


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (91.2, (91.2, None, None)),
        ("91.2", (91.2, None, None)),
        ("91.2%", (91.2, "%", None)),
        (" 91.2 % ", (91.2, "%", None)),
        ("85.3 ± 0.2", (85.3, None, "85.3 ± 0.2")),
        ("12.5% (dev)", (12.5, "%", "12.5% (dev)")),
        ("n/a", None),
        ("-", None),
        ("", None),
        (True, None),
        (None, None),
        ({"x": 1}, None),
        ("fast", ("fast", None, "fast")),
    ],
)
def test_metric_value(value: Any, expected: Any) -> None:
    assert metric_value(value) == expected


@pytest.mark.parametrize(
    ("value", "section", "expected"),
    [
        ("https://paperswithcode.com/paper/x", "paper", "https://paperswithcode.com/paper/x"),
        (
            "http://www.PapersWithCode.com/paper/x/?a=1#b",
            "paper",
            "https://paperswithcode.com/paper/x",
        ),
        ("/dataset/squad", "dataset", "https://paperswithcode.com/dataset/squad"),
        ("https://paperswithcode.com/dataset/squad", "paper", None),
        ("https://paperswithcode.com/paper/", "paper", None),
        ("https://evil.example.org/paper/x", "paper", None),
        ("https://paperswithcode.com.evil.org/paper/x", "paper", None),
        (42, "paper", None),
    ],
)
def test_pwc_page(value: Any, section: str, expected: str | None) -> None:
    assert pwc_page(value, section) == expected


def test_repository_urls() -> None:
    assert repo_iri("http://www.github.com/A/b.git/") == "https://github.com/A/b"
    assert repo_iri("https://github.com/A") is None
    assert repo_iri("https://code.example.org:8443/x/y/") == "https://code.example.org:8443/x/y"
    assert repo_iri("git@github.com:a/b.git") is None
    assert repo_root("https://github.com/a/b/blob/0abc/x.py#L3") == "https://github.com/a/b"


def test_converted_leaderboard_artefacts_are_cleaned() -> None:
    row = {
        "model_name": "Bi-LSTM\x02x\x03 (ours)",
        "paper_title": "[2]",
        "paper_url": "http://aclweb.org/anthology/D17-1120",
        "metrics": {"F1": "64.8*"},
    }
    raw = RawRecord(
        "paperswithcode", "k", "https://paperswithcode.com", "file:///e.json", "2026-01-01",
        {"model_name": row["model_name"], "paper_url": row["paper_url"],
         "results": [{"task": "WSD", "dataset": "Senseval", "row": row}]},
        kind="model",
    )  # fmt: skip
    record = run(raw)
    assert record.primary.name == "Bi-LSTMx (ours)"
    paper = node(record, "http://aclweb.org/anthology/D17-1120")
    assert paper.name is None  # "[2]" is a reference marker, not a title
    (value,) = [n for n in record.graph if isinstance(n, PropertyValue)]
    assert (value.value, value.description) == (64.8, "64.8*")
