"""Hugging Face Hub model → FAIR4ML (``normalizers.huggingface``) on project-authored payloads.

Payloads under ``tests/data/huggingface/`` are invented ``acme-lab`` models in the exact shape
of Hub responses: full ``/api/models/<id>`` documents (``api/models/acme-lab/*.json``), one
``/api/models?expand[]=…`` list page (``api/models__list_page.json``) and raw cards
(``model_cards/<org>__<name>/README.md``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from mlentory_crawl.identity import Minter, repo_path
from mlentory_crawl.items.fair4ml import (
    CreativeWork,
    DataDownload,
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    MLModelEvaluation,
    Organization,
    PropertyValue,
    ScholarlyArticle,
)
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.items.rdf import record_to_turtle
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.normalizers.huggingface import normalize

DATA = Path(__file__).resolve().parents[1] / "data" / "huggingface"
MINTER = Minter()
BASE = MINTER.base
HF = "https://huggingface.co/"
SCHEMA = Namespace("http://schema.org/")
FAIR4ML = Namespace("https://w3id.org/fair4ml#")
NO_CARD = object()


def api(repo_id: str) -> dict[str, Any]:
    """A full ``/api/models/<id>`` document."""
    return json.loads((DATA / "api" / "models" / f"{repo_id}.json").read_text(encoding="utf-8"))


def listed(repo_id: str) -> dict[str, Any]:
    """One entry of the ``/api/models?expand[]=…`` list page."""
    page = json.loads((DATA / "api" / "models__list_page.json").read_text(encoding="utf-8"))
    return next(entry for entry in page if entry["id"] == repo_id)


def card_text(repo_id: str) -> str | None:
    path = DATA / "model_cards" / repo_id.replace("/", "__") / "README.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def raw_record(payload: Any, card: Any = None, api_url: str | None = None) -> RawRecord:
    """The RawRecord the spider yields; ``card`` = text, an Attachment, None (auto) or NO_CARD."""
    repo_id = payload.get("id", "x/y") if isinstance(payload, dict) else "x/y"
    repo_id = repo_id if isinstance(repo_id, str) else "x/y"
    fetched = f"{HF}api/models/{repo_path(repo_id)}"  # as the spider fetched it: percent-encoded
    attachments: dict[str, Attachment] = {}
    if card is None:
        card = card_text(repo_id)
    if isinstance(card, Attachment):
        attachments["card"] = card
    elif isinstance(card, str):
        url = f"{HF}{repo_path(repo_id)}/raw/main/README.md"
        attachments["card"] = Attachment(url=url, status=200, text=card)
    return RawRecord(
        source="huggingface",
        source_id=repo_id,
        url=f"{HF}{repo_id}",
        api_url=api_url or fetched,
        retrieved_at="2025-03-21T12:00:00Z",
        payload=payload,
        attachments=attachments,
        job_id="unit",
    )


def run(payload: Any, card: Any = None, api_url: str | None = None) -> FAIR4MLRecord:
    return normalize(raw_record(payload, card, api_url), MINTER)


def model(record: FAIR4MLRecord) -> MLModel:
    primary = record.primary
    assert isinstance(primary, MLModel)
    return primary


def node(record: FAIR4MLRecord, iri: str) -> Any:
    found = record.node(iri)
    assert found is not None, f"{iri} not in the graph"
    return found


def eval_iri(model_iri: str, *parts: str) -> str:
    key = "|".join([model_iri, "hf-model-index", *parts])
    return f"{BASE}evaluation/" + hashlib.sha1(key.encode()).hexdigest()[:20]


def ds(hub_id: str) -> str:
    return f"{HF}datasets/{hub_id}"


# --- a base model: identity, owner, terms, datasets, papers, files, card ------------------------


def test_registry_returns_this_normalizer() -> None:
    assert get_normalizer("huggingface") is normalize


def test_base_model_identity_owner_and_counts() -> None:
    record = run(api("acme-lab/tiny-base"))
    m = model(record)
    iri = f"{HF}acme-lab/tiny-base"
    assert record.primaryTopic == m.id == iri
    assert record.graph[0] is m
    assert m.name == "acme-lab/tiny-base"
    assert m.url == iri
    assert m.identifier == ["acme-lab/tiny-base", "10.57967/hf/4242"]
    assert m.sameAs == ["https://doi.org/10.57967/hf/4242"]
    assert m.version == "0123456789abcdef0123456789abcdef01234567"
    assert m.dateModified is not None and m.dateModified.isoformat() == "2024-05-06T07:08:09+00:00"
    assert m.dateCreated is None  # 2022-03-02T23:29:04Z is the Hub's "unknown" floor
    assert m.sharedBy == [f"{HF}acme-lab"]
    owner = node(record, f"{HF}acme-lab")
    assert isinstance(owner, Organization)
    assert (owner.name, owner.url) == ("acme-lab", f"{HF}acme-lab")
    assert (m.downloads, m.downloadsAllTime, m.likes) == (1234, None, 56)
    assert m.parameterCount == 4385920
    assert m.gated is None and m.conditionsOfAccess is None
    assert record.provenance.notes == ["field/dateCreated/floor", "field/sharedBy/type-assumed"]


def test_base_model_tasks_software_categories_languages_keywords() -> None:
    record = run(api("acme-lab/tiny-base"))
    m = model(record)
    task_iri = f"{BASE}task/hf/fill-mask"
    assert m.mlTask == [task_iri]
    task = node(record, task_iri)
    assert isinstance(task, DefinedTerm)
    assert (task.name, task.termCode, task.inDefinedTermSet, task.url) == (
        "Fill Mask",
        "fill-mask",
        "https://huggingface.co/tasks",
        "https://huggingface.co/tasks/fill-mask",
    )
    assert m.softwareRequirements == ["transformers"]
    assert m.modelCategory == ["TinyBertForMaskedLM", "tinybert", "AutoModelForMaskedLM"]
    assert m.inLanguage == ["en", "fr"]
    names = [node(record, k).name for k in m.keywords]
    assert names == ["transformers", "pytorch", "safetensors", "tinybert"]
    assert m.keywords[0] == f"{BASE}keyword/transformers"


def test_base_model_datasets_and_papers() -> None:
    record = run(api("acme-lab/tiny-base"))
    m = model(record)
    assert m.trainedOn == [ds("acme-lab/web-corpus"), ds("wikipedia")]
    corpus = node(record, ds("acme-lab/web-corpus"))
    assert isinstance(corpus, Dataset)
    assert (corpus.name, corpus.url, corpus.identifier) == (
        "acme-lab/web-corpus",
        ds("acme-lab/web-corpus"),
        ["acme-lab/web-corpus"],
    )
    own, co2 = "https://arxiv.org/abs/2401.01234", "https://arxiv.org/abs/1910.09700"
    assert m.citation == [own, co2]
    assert m.referencePublication == [own]  # only the paper the card's Citation section cites
    paper = node(record, own)
    assert isinstance(paper, ScholarlyArticle)
    assert paper.identifier == ["arXiv:2401.01234"]
    assert paper.sameAs == [f"{HF}papers/2401.01234"]


def test_base_model_licence_node() -> None:
    record = run(api("acme-lab/tiny-base"))
    assert model(record).license == ["https://spdx.org/licenses/Apache-2.0"]
    licence = node(record, "https://spdx.org/licenses/Apache-2.0")
    assert isinstance(licence, CreativeWork)
    assert (licence.name, licence.identifier, licence.url) == (
        "Apache-2.0",
        ["Apache-2.0"],
        "https://spdx.org/licenses/Apache-2.0.html",
    )


def test_base_model_card_sections() -> None:
    record = run(api("acme-lab/tiny-base"))
    m = model(record)
    assert m.description == (
        "Tiny-base is a 4M-parameter masked language model pre-trained on English and French "
        "web text.\nIt is meant as a fast baseline for teaching."
    )
    assert m.intendedUse == (
        "Direct Use: Filling masked tokens in short English or French sentences.\n\n"
        "Out-of-Scope Use: Anything safety-critical; the model is far too small."
    )
    assert m.modelRisksBiasLimitations == "The web corpus over-represents European news sites."
    assert m.usageInstructions is None  # only template boilerplate + code in that section
    assert m.codeSampleSnippet == (
        "from transformers import pipeline\n"
        'unmasker = pipeline("fill-mask", model="acme-lab/tiny-base")\n'
        "# Not a heading: inside a code fence\n"
        'unmasker("Paris is the [MASK] of France.")'
    )
    assert m.hasCO2eEmissions == (
        "1.2345 g CO2eq (pre-training; source: codecarbon; location: Frankfurt, Germany; "
        "hardware: 1 x A100)"
    )
    assert m.codeRepository == ["https://github.com/acme-lab/tiny"]
    assert m.image == [f"{HF}acme-lab/tiny-base/resolve/main/logo.png"]
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert m.readme == [f"{HF}acme-lab/tiny-base/blob/{sha}/README.md"]


def test_co2_falls_back_to_the_environmental_impact_section() -> None:
    payload = api("acme-lab/tiny-base")
    del payload["cardData"]["co2_eq_emissions"]
    card = (card_text("acme-lab/tiny-base") or "").replace("co2_eq_emissions:", "co2_unused:")
    assert model(run(payload, card)).hasCO2eEmissions == "Hardware Type: A100; Hours used: 3"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(512, "512 g CO2eq"), ("0.25", "0.25 g CO2eq"), ({"emissions": 7}, "7 g CO2eq"),
     ({"source": "x"}, None), ("lots", None)],
)  # fmt: skip
def test_co2_from_card_data(value: Any, expected: str | None) -> None:
    payload = {"id": "acme-lab/co2", "cardData": {"co2_eq_emissions": value}}
    assert model(run(payload, NO_CARD)).hasCO2eEmissions == expected


def test_weight_files_become_pinned_data_downloads() -> None:
    record = run(api("acme-lab/tiny-base"))
    m = model(record)
    pinned = f"{HF}acme-lab/tiny-base/resolve/0123456789abcdef0123456789abcdef01234567/"
    assert m.distribution == [
        pinned + "model.safetensors",
        pinned + "pytorch_model.bin",
        pinned + "onnx/model.onnx",
    ]  # not training_args.bin, tokenizer.json, README.md, ...
    weights = node(record, pinned + "model.safetensors")
    assert isinstance(weights, DataDownload)
    assert weights.name == "model.safetensors"
    assert weights.contentUrl == pinned + "model.safetensors"
    assert weights.encodingFormat == "safetensors"
    assert weights.contentSize == 17563456
    assert weights.sha256 == "3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
    assert node(record, pinned + "onnx/model.onnx").encodingFormat == "onnx"


def test_distribution_is_capped_and_noted() -> None:
    payload = api("acme-lab/tiny-base")
    payload["siblings"] = [{"rfilename": f"model-{i:05d}-of-00060.safetensors"} for i in range(60)]
    record = run(payload, NO_CARD)
    assert len(model(record).distribution) == 50
    assert "field/distribution/truncated" in record.provenance.notes


def test_provenance_and_record_iri() -> None:
    record = run(api("acme-lab/tiny-base"))
    prov = record.provenance
    assert record.id == MINTER.record("huggingface", "model:acme-lab/tiny-base")
    assert (prov.source, prov.sourceId, prov.spider, prov.jobId) == (
        "huggingface",
        "acme-lab/tiny-base",
        "huggingface",
        "unit",
    )
    assert prov.apiUrl == f"{HF}api/models/acme-lab/tiny-base"
    assert prov.fetchedUrls == [
        f"{HF}api/models/acme-lab/tiny-base",
        f"{HF}acme-lab/tiny-base/raw/main/README.md",
    ]
    assert prov.retrievedAt.isoformat() == "2025-03-21T12:00:00+00:00"


@pytest.mark.parametrize("status", [404, 401])
def test_missing_or_forbidden_card_is_not_fetched_content(status: int) -> None:
    card = Attachment(url=f"{HF}acme-lab/tiny-base/raw/main/README.md", status=status, text=None)
    record = run(api("acme-lab/tiny-base"), card)
    m = model(record)
    assert record.provenance.fetchedUrls == [f"{HF}api/models/acme-lab/tiny-base"]
    assert m.readme == [] and m.description is None and m.codeRepository == []
    assert m.referencePublication == []
    assert m.hasCO2eEmissions is not None  # still from cardData


def test_list_page_api_url_is_kept_but_the_model_iri_is_the_public_page() -> None:
    url = f"{HF}api/models?limit=500&expand[]=author&expand[]=cardData"
    record = run(listed("acme-lab/tiny-blend"), NO_CARD, api_url=url)
    assert record.provenance.apiUrl == url
    assert record.primaryTopic == f"{HF}acme-lab/tiny-blend"


# --- lineage ------------------------------------------------------------------------------------


def test_finetune_of_one_base_model_from_typed_tags() -> None:
    record = run(api("acme-lab/tiny-squad"))
    m = model(record)
    base = f"{HF}acme-lab/tiny-base"
    assert m.isBasedOn == m.fineTunedFrom == m.baseModelFinetune == [base]
    assert m.baseModelAdapter == m.baseModelQuantized == m.baseModelMerge == []
    base_node = node(record, base)
    assert isinstance(base_node, MLModel)
    assert (base_node.name, base_node.url, base_node.identifier) == (
        "acme-lab/tiny-base",
        base,
        ["acme-lab/tiny-base"],
    )


def test_finetune_of_several_base_models_from_card_data() -> None:
    m = model(run(listed("acme-lab/tiny-blend"), NO_CARD))
    bases = [f"{HF}acme-lab/tiny-base", f"{HF}acme-lab/tiny-squad"]
    assert m.isBasedOn == m.fineTunedFrom == m.baseModelFinetune == bases
    assert (m.downloads, m.downloadsAllTime, m.likes) == (10, 99, 1)


def test_adapter() -> None:
    record = run(listed("acme-lab/tiny-llm-lora"), NO_CARD)
    m = model(record)
    base = f"{HF}acme-lab/tiny-llm"
    assert m.isBasedOn == m.fineTunedFrom == m.baseModelAdapter == [base]
    assert m.baseModelFinetune == []
    assert m.softwareRequirements == ["peft"]
    assert [node(record, k).name for k in m.keywords] == ["peft", "safetensors", "lora", "trl"]
    sha = "3333333333333333333333333333333333333333"
    assert m.distribution == [f"{HF}acme-lab/tiny-llm-lora/resolve/{sha}/adapter_model.safetensors"]


def test_quantized_gguf_model() -> None:
    record = run(listed("acme-lab/tiny-llm-GGUF"), NO_CARD)
    m = model(record)
    assert m.isBasedOn == m.baseModelQuantized == [f"{HF}acme-lab/tiny-llm"]
    assert m.fineTunedFrom == []  # a quantisation is not a fine-tune
    assert m.parameterCount == 1235814432
    assert m.modelCategory == ["llama"]
    assert [node(record, d).encodingFormat for d in m.distribution] == ["gguf"] * 3
    assert [node(record, k).name for k in m.keywords] == ["gguf", "llama", "conversational"]
    assert m.mlTask == [f"{BASE}task/hf/text-generation"]


def test_merge_from_the_base_models_expand_field() -> None:
    m = model(run(listed("acme-lab/tiny-merge"), NO_CARD))
    bases = [f"{HF}acme-lab/tiny-gemma-a", f"{HF}acme-lab/tiny-gemma-b"]
    assert m.isBasedOn == m.baseModelMerge == bases
    assert m.fineTunedFrom == []


def test_card_base_model_without_relation_is_only_is_based_on() -> None:
    payload = {"id": "acme-lab/x", "cardData": {"base_model": ["acme-lab/a", "./local ckpt"]}}
    record = run(payload, NO_CARD)
    m = model(record)
    assert m.isBasedOn == [f"{HF}acme-lab/a"]
    assert m.fineTunedFrom == m.baseModelFinetune == []
    assert "field/base_model/invalid" in record.provenance.notes


def test_a_model_never_references_itself_as_its_base() -> None:
    payload = {"id": "acme-lab/x", "tags": ["base_model:finetune:acme-lab/x"]}
    record = run(payload, NO_CARD)
    assert model(record).isBasedOn == []
    assert "field/self-reference" in record.provenance.notes
    assert [n.id for n in record.graph].count(f"{HF}acme-lab/x") == 1


# --- evaluations --------------------------------------------------------------------------------


def test_model_index_with_several_results() -> None:
    record = run(api("acme-lab/tiny-squad"))
    m = model(record)
    iri = m.id
    shifts_url = "https://acme.example/leaderboard?model=acme-lab/tiny-squad"
    val = eval_iri(iri, "acme-lab/qa-set", "default", "validation", "question-answering", "")
    test = eval_iri(iri, "acme-lab/qa-set", "default", "test", "question-answering", "")
    shifts = eval_iri(iri, "acme-lab/qa-shifts", "news", "test", "question-answering", shifts_url)
    bench = eval_iri(iri, "unknown", "", "", "question-answering", "")
    assert m.hasEvaluation == [val, test, shifts, bench]
    assert m.trainedOn == [ds("acme-lab/qa-set")]
    assert m.validatedOn == [ds("acme-lab/qa-set")]
    assert m.testedOn == [ds("acme-lab/qa-set")]
    minted_bench = f"{BASE}dataset/hf/internal-qa-bench"
    assert m.evaluatedOn == [ds("acme-lab/qa-shifts"), minted_bench]

    first = node(record, val)
    assert isinstance(first, MLModelEvaluation)
    assert first.name == "Question Answering on ACME QA (config default, split validation)"
    assert first.evaluatedMLModel == [iri]
    assert first.evaluationDataset == [ds("acme-lab/qa-set")]
    assert first.evaluationMetrics == ["exact_match", "f1"]
    assert first.evaluationResults == [f"{val}#exact_match", f"{val}#f1"]
    assert first.extrinsicEvaluation is False
    assert first.about == [f"{BASE}task/hf/question-answering"]
    em = node(record, f"{val}#exact_match")
    assert isinstance(em, PropertyValue)
    assert (em.propertyID, em.name, em.value, em.unitText) == (
        "exact_match",
        "Exact Match",
        79.5,
        None,
    )
    f1 = node(record, f"{val}#f1")
    assert (f1.value, f1.unitText) == (85.1, "%")  # "85.1%" parsed

    assert node(record, test).extrinsicEvaluation is False
    third = node(record, shifts)
    assert third.extrinsicEvaluation is None  # a different dataset does not prove unseen data
    assert third.url == shifts_url
    assert third.name == "Question Answering on ACME QA shifts (news) (config news, split test)"
    assert "args: num_few_shot=0" in (third.description or "")
    assert "source: ACME Leaderboard" in (third.description or "")

    fourth = node(record, bench)
    assert fourth.evaluationDataset == [minted_bench]
    assert node(record, minted_bench).name == "Internal QA Bench"
    assert fourth.evaluationResults == [f"{bench}#accuracy", f"{bench}#accuracy-2"]
    assert node(record, f"{bench}#accuracy").value is None  # "n/a" is a placeholder
    assert node(record, f"{bench}#accuracy-2").value == 0.61
    # card metrics are not keywords when evaluations use them
    assert f"{BASE}keyword/exact_match" not in m.keywords


def test_evaluation_iri_follows_the_documented_key() -> None:
    payload = {
        "id": "acme-lab/qa",
        "model-index": [
            {
                "name": "qa",
                "results": [
                    {
                        "task": {"type": "question-answering"},
                        "dataset": {"type": "acme-lab/qa-set", "name": "qa", "split": "test"},
                        "metrics": [{"type": "f1", "value": 1}],
                    }
                ],
            }
        ],
    }
    key = f"{HF}acme-lab/qa|hf-model-index|acme-lab/qa-set||test|question-answering|"
    expected = BASE + "evaluation/" + hashlib.sha1(key.encode()).hexdigest()[:20]
    assert model(run(payload, NO_CARD)).hasEvaluation == [expected]


def test_card_metrics_are_keywords_without_evaluations() -> None:
    payload = {"id": "acme-lab/m", "cardData": {"metrics": ["accuracy", "f1"]}}
    assert model(run(payload, NO_CARD)).keywords == [
        f"{BASE}keyword/accuracy",
        f"{BASE}keyword/f1",
    ]


def test_eval_results_entries() -> None:
    record = run(listed("acme-lab/tiny-bench"), NO_CARD)
    m = model(record)
    iri = m.id
    key1 = "|".join(
        [iri, "hf-eval-results", "acme-bench/gpqa", "gpqa_diamond",
         "5503434ddd753f426f4b38109466949a1217c2bb", "no-tools",
         "https://huggingface.co/spaces/acme-lab/evals"]
    )  # fmt: skip
    key2 = "|".join([iri, "hf-eval-results", "acme-bench/hle", "default", "", "", ""])
    first, second = (MINTER.evaluation(k) for k in (key1, key2))
    assert m.hasEvaluation == [first, second]
    assert m.evaluatedOn == [ds("acme-bench/gpqa"), ds("acme-bench/hle")]
    evaluation = node(record, first)
    assert evaluation.name == "gpqa_diamond on acme-bench/gpqa"
    assert evaluation.description == "no-tools; Source: ACME eval logs"
    assert evaluation.url == "https://huggingface.co/spaces/acme-lab/evals"
    assert evaluation.dateCreated.isoformat() == "2025-12-18T09:30:00+00:00"
    assert evaluation.evaluationMetrics == ["gpqa_diamond"]
    assert node(record, f"{first}#gpqa_diamond").value == 41.2
    assert node(record, f"{second}#default").value == 20.9
    assert "field/evalResults/invalid" in record.provenance.notes  # the server-side error entry


# --- access and licences ------------------------------------------------------------------------


def test_gated_model_with_other_licence_and_relative_link() -> None:
    record = run(api("acme-lab/tiny-gated"))
    m = model(record)
    sha = "7777777777777777777777777777777777777777"
    assert m.gated == "manual"
    assert m.conditionsOfAccess == (
        "Gated on the Hugging Face Hub: users must request access (approved manually by the "
        "authors).\n\nYou agree to use this model for **research only** and to cite the ACME "
        "report."
    )
    licence_iri = f"{BASE}license/hf/acme-research-license"
    assert m.license == [licence_iri]
    licence = node(record, licence_iri)
    assert (licence.name, licence.identifier, licence.url) == (
        "acme-research-license",
        ["acme-research-license"],
        f"{HF}acme-lab/tiny-gated/blob/{sha}/LICENSE",
    )
    assert m.newVersion == [f"{HF}acme-lab/tiny-gated-v2"]
    assert node(record, f"{HF}acme-lab/tiny-gated-v2").name == "acme-lab/tiny-gated-v2"
    assert m.mlTask == [f"{BASE}task/hf/text-generation"]
    keywords = [node(record, k).name for k in m.keywords]
    assert keywords == ["transformers", "safetensors", "tinyllama", "conversational"]
    assert m.description == (
        "tiny-gated is a 1.1B chat model released for research under the ACME research licence."
    )
    assert m.modelRisksBiasLimitations == (
        "It hallucinates citations and should not be used for medical advice."
    )


@pytest.mark.parametrize(
    ("gated", "text", "field"),
    [
        ("auto", "Gated on the Hugging Face Hub: users must request access "
                 "(approved automatically).", "auto"),
        (True, "Gated on the Hugging Face Hub: users must request access.", None),
        (False, None, None),
    ],
)  # fmt: skip
def test_gated_modes(gated: Any, text: str | None, field: str | None) -> None:
    m = model(run({"id": "acme-lab/g", "gated": gated}, NO_CARD))
    assert (m.conditionsOfAccess, m.gated) == (text, field)


def test_list_form_licence_merges_with_tags() -> None:
    payload = {
        "id": "acme-lab/l",
        "tags": ["license:mit"],
        "cardData": {"license": ["mit", "cc-by-4.0"]},
    }
    assert model(run(payload, NO_CARD)).license == [
        "https://spdx.org/licenses/MIT",
        "https://spdx.org/licenses/CC-BY-4.0",
    ]


@pytest.mark.parametrize(
    ("licence", "iri", "name", "url"),
    [
        ("gemma", "license/hf/gemma", "Gemma Terms of Use", "https://ai.google.dev/gemma/terms"),
        ("llama3", "license/hf/llama3", "Llama 3 Community License", "https://llama.meta.com/llama3/license/"),
        ("llama3.1", "license/hf/llama3.1", "Llama 3.1 Community License", "https://llama.meta.com/llama3_1/license/"),
    ],
)  # fmt: skip
def test_named_non_spdx_licences(licence: str, iri: str, name: str, url: str) -> None:
    record = run({"id": "acme-lab/n", "cardData": {"license": licence}}, NO_CARD)
    assert model(record).license == [BASE + iri]
    node_ = node(record, BASE + iri)
    assert (node_.name, node_.identifier, node_.url) == (name, [licence], url)


def test_named_licence_with_a_repo_licence_file_links_to_it() -> None:
    payload = {
        "id": "acme-lab/n",
        "sha": "a" * 40,
        "cardData": {"license": "llama3", "license_link": "./LICENSE.md"},
    }
    record = run(payload, NO_CARD)
    assert (
        node(record, f"{BASE}license/hf/llama3").url == f"{HF}acme-lab/n/blob/{'a' * 40}/LICENSE.md"
    )


def test_other_licence_with_absolute_link_only() -> None:
    link = "https://acme.example/licence"
    record = run(
        {"id": "acme-lab/o", "cardData": {"license": "other", "license_link": link}}, NO_CARD
    )
    iri = f"{BASE}license/hf/https-acme.example-licence"
    assert model(record).license == [iri]
    assert (node(record, iri).name, node(record, iri).url) == (link, link)


@pytest.mark.parametrize(
    ("card_data", "note"),
    [
        ({"license": "other"}, "field/license/other-unnamed"),
        ({"license": "unknown"}, "field/license/unknown"),
        ({}, "field/license/missing"),
    ],
)
def test_licences_without_a_triple_are_noted(card_data: dict[str, Any], note: str) -> None:
    record = run({"id": "acme-lab/u", "cardData": card_data}, NO_CARD)
    assert model(record).license == []
    assert note in record.provenance.notes


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "expected", "floor"),
    [
        ("2022-03-02T23:29:04.000Z", None, True),
        ("2022-03-02T23:29:59.999Z", None, True),
        ("2022-03-02T23:30:00.000Z", "2022-03-02T23:30:00+00:00", False),
        ("2024-02-03T04:05:06.000Z", "2024-02-03T04:05:06+00:00", False),
    ],
)
def test_created_at_floor(created: str, expected: str | None, floor: bool) -> None:
    record = run({"id": "acme-lab/d", "createdAt": created}, NO_CARD)
    value = model(record).dateCreated
    assert (value.isoformat() if value else None) == expected
    assert ("field/dateCreated/floor" in record.provenance.notes) is floor


# --- cards --------------------------------------------------------------------------------------


def test_card_with_malformed_front_matter_still_uses_the_body() -> None:
    record = run({"id": "acme-lab/tiny-broken-card", "author": "acme-lab"})
    m = model(record)
    assert "card/frontmatter/invalid" in record.provenance.notes
    assert m.description == (
        "This card has broken YAML front matter, but its body is still useful: a compact "
        "sentiment classifier."
    )
    assert m.codeSampleSnippet == "pip install acme-tiny"
    assert m.readme == [f"{HF}acme-lab/tiny-broken-card/blob/main/README.md"]


def test_card_without_front_matter() -> None:
    record = run({"id": "acme-lab/tiny-plain"})
    m = model(record)
    assert m.description == (
        "A plain card without any YAML front matter, describing a speech keyword spotter."
    )
    assert "card/frontmatter/invalid" not in record.provenance.notes
    assert m.citation == []  # an arXiv link in prose is not a citation without the Hub's tag


def test_card_front_matter_fills_in_when_card_data_is_absent() -> None:
    card = (
        "---\nlicense: apache-2.0\nlanguage: de\nbase_model: acme-lab/a\n---\n"
        "# X\n\nEin kleines Modell für deutsche Texte.\n"
    )
    m = model(run({"id": "acme-lab/fm"}, card))
    assert m.license == ["https://spdx.org/licenses/Apache-2.0"]
    assert m.inLanguage == ["de"]
    assert m.isBasedOn == [f"{HF}acme-lab/a"]
    assert m.description == "Ein kleines Modell für deutsche Texte."


def test_out_of_scope_use_is_part_of_intended_use() -> None:
    card = "# M\n\n## Uses\n\nGeneral use.\n\n### Out-of-Scope Use\n\nNot for medicine.\n"
    assert model(run({"id": "acme-lab/u"}, card)).intendedUse == (
        "General use.\n\nOut-of-Scope Use: Not for medicine."
    )


# --- robustness ---------------------------------------------------------------------------------


def test_wrongly_typed_payload_is_tolerated() -> None:
    record = run(api("acme-lab/tiny-weird"), NO_CARD)
    m = model(record)
    assert m.id == f"{HF}acme-lab/tiny-weird"
    assert m.sharedBy == [f"{HF}acme-lab"]  # author was a list; the namespace is the owner
    assert (m.downloads, m.downloadsAllTime, m.likes) == (12, 12, None)
    assert m.parameterCount == 100  # total "lots" ignored, per-dtype counts summed
    assert m.mlTask == [f"{BASE}task/hf/text-classification"]  # tags was a bare string
    assert m.isBasedOn == [f"{HF}acme-lab/tiny-base"]
    assert m.softwareRequirements == [] and m.keywords == [] and m.distribution == []
    assert m.version is None and m.dateCreated is None and m.dateModified is None
    assert m.hasEvaluation == [] and m.gated is None and m.conditionsOfAccess is None
    assert record.provenance.notes == [
        "field/cardData/invalid",
        "field/createdAt/invalid",
        "field/lastModified/invalid",
        "field/author/invalid",
        "field/sharedBy/type-assumed",
        "field/likes/invalid",
        "field/license/missing",
        "field/library_name/invalid",
        "field/model-index/invalid",
        "field/evalResults/invalid",
        "field/gated/invalid",
        "field/siblings/invalid",
    ]


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        (("cardData", "datasets"), {"acme-lab/web-corpus": True}, "datasets"),
        (("cardData", "language"), 5, "language"),
        (("cardData", "license"), {"name": "mit"}, "license"),
        (("tags",), None, "tags-none"),
        (("config",), ["x"], "config"),
        (("safetensors",), "big", "safetensors"),
        (("model-index",), [{"results": "x"}, 7, {"results": [3, {"task": 1}]}], "model-index"),
        (("siblings",), [{"rfilename": "../etc/passwd.bin"}, {"rfilename": None}, 3], "siblings"),
        (("cardData", "thumbnail"), "javascript:alert(1)", "thumbnail"),
        (("cardData", "license_link"), "https://acme.example/a b", "link"),
    ],
)  # fmt: skip
def test_wrongly_typed_fields_of_a_real_shaped_payload(
    path: tuple[str, ...], value: Any, check: str
) -> None:
    payload = copy.deepcopy(api("acme-lab/tiny-base"))
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    record = run(payload, NO_CARD)
    m = model(record)
    notes = record.provenance.notes
    if check == "datasets":
        assert m.trainedOn == [ds("acme-lab/web-corpus"), ds("wikipedia")]  # from the tags
        assert "field/datasets/invalid" in notes
    elif check == "language":
        assert m.inLanguage == ["en", "fr"] and "field/inLanguage/invalid" in notes
    elif check == "license":
        assert m.license == ["https://spdx.org/licenses/Apache-2.0"]  # the tag still counts
        assert "field/license/invalid" in notes
    elif check == "tags-none":
        assert m.keywords == [f"{BASE}keyword/transformers"]  # from library_name
        assert m.citation == [] and m.inLanguage == ["en", "fr"]  # languages from cardData
    elif check == "config":
        assert m.modelCategory == ["AutoModelForMaskedLM"]
    elif check == "safetensors":
        assert m.parameterCount is None
    elif check == "model-index":
        assert m.hasEvaluation == [] and "field/model-index/invalid" in notes
    elif check == "siblings":
        assert m.distribution == []
    elif check == "thumbnail":
        assert m.image == []
    elif check == "link":
        assert m.license == ["https://spdx.org/licenses/Apache-2.0"]


def test_non_ascii_text_is_preserved() -> None:
    record = run(api("acme-lab/modele-multilingue"))
    m = model(record)
    assert m.name == "Modèle multilingue ☃"
    assert m.description == (
        "Ce modèle traduit du français vers le chinois (中文) avec une qualité « raisonnable » "
        "— déjà ça."
    )
    assert m.inLanguage == ["fr", "zh", "zh-Hant"]  # "français" is not a language code
    assert "field/inLanguage/invalid" in record.provenance.notes
    kw = MINTER.keyword("自然语言处理")
    assert kw == f"{BASE}keyword/%E8%87%AA%E7%84%B6%E8%AF%AD%E8%A8%80%E5%A4%84%E7%90%86"
    assert kw in m.keywords and node(record, kw).name == "自然语言处理"
    sha = "8888888888888888888888888888888888888888"
    weights = f"{HF}acme-lab/modele-multilingue/resolve/{sha}/mod%C3%A8le%20%E2%98%83.safetensors"
    assert weights in m.distribution and node(record, weights).name == "modèle ☃.safetensors"
    graph = Graph().parse(data=record_to_turtle(record), format="turtle")
    assert (URIRef(m.id), SCHEMA.name, Literal("Modèle multilingue ☃")) in graph


@pytest.mark.parametrize(
    ("repo_id", "iri"),
    [
        ('acme lab/"quoted" modèle', f'{HF}acme%20lab/%22quoted%22%20mod%C3%A8le'),
        ("acme-lab/<img src=x onerror=alert(1)>",
         f"{HF}acme-lab/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"),
        ("gpt2", f"{HF}gpt2"),
        ("acme-lab/a{b}|c^d`e\\f", f"{HF}acme-lab/a%7Bb%7D%7Cc%5Ed%60e%5Cf"),
    ],
)  # fmt: skip
def test_hostile_ids_become_valid_iris(repo_id: str, iri: str) -> None:
    record = run({"id": repo_id, "author": "acme lab", "tags": ["dataset:a b c"]}, NO_CARD)
    m = model(record)
    assert m.id.startswith(iri)
    assert m.identifier == [repo_id] and m.name == repo_id
    assert m.sharedBy == [f"{HF}acme%20lab"]
    assert m.trainedOn == [f"{BASE}dataset/hf/a-b-c"]  # free text, not a Hub id
    Graph().parse(data=record_to_turtle(record), format="turtle")


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "acme-lab/x",
        None,
        {},
        {"id": None},
        {"id": 42},
        {"id": "   "},
        {"id": "../etc/passwd"},
        {"id": "a/b/c"},
        {"id": "a//b"},
        {"id": "acme/bad\x00id"},
        {"id": "x" * 400},
    ],
)
def test_unusable_payloads_raise_normalization_error(payload: Any) -> None:
    with pytest.raises(NormalizationError):
        normalize(raw_record(payload, NO_CARD), MINTER)


@pytest.mark.parametrize(
    "card",
    [
        "## Citation\n\n" + "[" * 200_000,
        "## Usage\n\n" + "[a](" * 50_000,
        "## Citation\n\n" + "arxiv.org/abs/" * 15_000,
        "# " + " " * 200_000 + "x\n",
        "<" * 200_000,
        "---\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\ntags: *c\nlicense: *c\n---\nbody\n",
    ],
    ids=["brackets", "links", "arxiv-chain", "long-heading", "angles", "yaml-aliases"],
)
def test_hostile_cards_are_processed_in_linear_time(card: str) -> None:
    started = time.perf_counter()
    record = run({"id": "acme-lab/hostile"}, card)
    assert time.perf_counter() - started < 5.0
    assert model(record).license == []


def test_model_id_falls_back_to_legacy_model_id() -> None:
    assert model(run({"modelId": "acme-lab/legacy"}, NO_CARD)).id == f"{HF}acme-lab/legacy"


def test_language_tags_the_author_wrote_stay_keywords() -> None:
    payload = {
        "id": "acme-lab/yi-moe",
        "tags": ["yi", "moe", "en"],
        "cardData": {"tags": ["yi", "moe"]},
    }
    record = run(payload, NO_CARD)
    m = model(record)
    assert m.inLanguage == ["en"]
    assert [node(record, k).name for k in m.keywords] == ["yi", "moe"]


def test_legacy_pipeline_tags_are_tasks_without_a_task_page() -> None:
    record = run({"id": "acme-lab/t5", "pipeline_tag": "text2text-generation"}, NO_CARD)
    task = node(record, f"{BASE}task/hf/text2text-generation")
    assert (task.name, task.url) == ("Text2text Generation", None)


# --- serialisation ------------------------------------------------------------------------------


SERIALISED = [
    *(f"api:{p.stem}" for p in sorted((DATA / "api" / "models" / "acme-lab").glob("*.json"))),
    *("list:acme-lab/" + n for n in ("tiny-blend", "tiny-llm-lora", "tiny-llm-GGUF", "tiny-merge")),
    "list:acme-lab/tiny-bench",
    "card:tiny-broken-card",
    "card:tiny-plain",
]


def _record(label: str) -> FAIR4MLRecord:
    kind, name = label.split(":", 1)
    if kind == "api":
        return run(api(f"acme-lab/{name}"))
    if kind == "list":
        return run(listed(name))
    return run({"id": f"acme-lab/{name}"})


@pytest.mark.parametrize("label", SERIALISED)
def test_records_serialise_to_turtle_and_jsonld_and_back(label: str) -> None:
    record = _record(label)
    m = model(record)
    graph = Graph().parse(data=record_to_turtle(record), format="turtle")
    subject = URIRef(m.id)
    assert (subject, RDF.type, FAIR4ML.MLModel) in graph
    assert (subject, SCHEMA.name, Literal(m.name)) in graph
    assert (subject, SCHEMA.url, URIRef(m.url or "")) in graph
    for iri in m.hasEvaluation:
        assert (URIRef(iri), FAIR4ML.evaluatedMLModel, subject) in graph
    doc = record.to_jsonld()
    assert doc["@context"] and doc["primaryTopic"] == m.id
    back = FAIR4MLRecord.model_validate(doc)  # accepts its own @context
    assert back.model_dump() == record.model_dump()
    again = FAIR4MLRecord.model_validate_json(json.dumps(doc, ensure_ascii=False))
    assert again.model_dump() == record.model_dump()


def test_normalisation_is_deterministic() -> None:
    payload = api("acme-lab/tiny-squad")
    assert run(payload).to_jsonld() == run(copy.deepcopy(payload)).to_jsonld()
