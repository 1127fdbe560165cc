"""Fixtures for the real Neo4j and Elasticsearch servers.

Addresses come from ``MLENTORY_TEST_NEO4J_URI`` / ``MLENTORY_TEST_ELASTICSEARCH_URL`` (defaults:
bolt://127.0.0.1:7687, http://127.0.0.1:9200; start them with ``bash scripts/services.sh up``).
A missing server skips its tests with a clear message, or fails them when
``MLENTORY_REQUIRE_SERVICES=1`` (CI). Each test starts from an empty graph and its own index
alias, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver, GraphDatabase
from stores import EsHttp

NEO4J_URI = os.environ.get("MLENTORY_TEST_NEO4J_URI") or "bolt://127.0.0.1:7687"
NEO4J_PASSWORD = os.environ.get("MLENTORY_TEST_NEO4J_PASSWORD", "")
ES_URL = os.environ.get("MLENTORY_TEST_ELASTICSEARCH_URL") or "http://127.0.0.1:9200"


def require_services() -> bool:
    """True when CI demands real services (as ``tests/conftest.py`` defines it)."""
    return os.environ.get("MLENTORY_REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_missing(name: str, where: str, exc: BaseException, service: str) -> None:
    """Skip (locally) or fail (``MLENTORY_REQUIRE_SERVICES=1``) with a clear message."""
    msg = (
        f"{name} is not reachable at {where} ({type(exc).__name__}: {exc}); "
        f"start it with `bash scripts/services.sh up {service}`"
    )
    if require_services():
        pytest.fail(msg + " [MLENTORY_REQUIRE_SERVICES=1: a missing service fails]", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[Driver]:
    """A driver to the test Neo4j (session-wide)."""
    auth = ("neo4j", NEO4J_PASSWORD) if NEO4J_PASSWORD else None
    driver = GraphDatabase.driver(NEO4J_URI, auth=auth, connection_timeout=5)
    try:
        driver.verify_connectivity()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        driver.close()
        service_missing("Neo4j", NEO4J_URI, exc, "neo4j")
    yield driver
    driver.close()


def wipe(driver: Driver) -> None:
    """Delete every node and relationship of the test database."""
    with driver.session() as session:  # CALL … IN TRANSACTIONS needs an implicit transaction
        for query in (
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 5000 ROWS",
            "MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 5000 ROWS",
        ):
            session.run(query).consume()


@pytest.fixture
def graph(neo4j_driver: Driver) -> Driver:
    """The test Neo4j, emptied for this test."""
    wipe(neo4j_driver)
    return neo4j_driver


@pytest.fixture(scope="session")
def es_http() -> EsHttp:
    """A JSON client of the test Elasticsearch (session-wide)."""
    es = EsHttp(ES_URL)
    try:
        es("GET", "/_cluster/health?wait_for_status=yellow&timeout=10s")
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        service_missing("Elasticsearch", ES_URL, exc, "es")
    return es


@pytest.fixture
def es_alias(es_http: EsHttp) -> Iterator[str]:
    """A fresh alias for this test; its indices and template are deleted afterwards."""
    alias = f"test-models-{uuid.uuid4().hex[:10]}"
    yield alias
    es_http.drop(alias)


@pytest.fixture
def store_settings(tmp_path: Path, graph: Driver, es_alias: str) -> dict[str, Any]:
    """Settings pointing both store pipelines at the test servers (empty graph, new alias)."""
    return {
        "DATA_DIR": str(tmp_path / "data"),
        "NEO4J_URI": NEO4J_URI,
        "NEO4J_PASSWORD": NEO4J_PASSWORD,
        "ELASTICSEARCH_URL": ES_URL,
        "ELASTICSEARCH_INDEX": es_alias,
        "NEO4J_BATCH_SIZE": 10,
        "ELASTICSEARCH_BATCH_SIZE": 10,
        "NEO4J_FLUSH_INTERVAL": 60,
        "ELASTICSEARCH_FLUSH_INTERVAL": 60,
        "NEO4J_CONNECT_TIMEOUT": 10,
        "ELASTICSEARCH_CONNECT_TIMEOUT": 10,
    }
