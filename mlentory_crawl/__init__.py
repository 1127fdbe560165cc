"""mlentory-crawl: harvest ML-model metadata into FAIR4ML files, Neo4j and Elasticsearch."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlentory-crawl")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"

USER_AGENT = (
    f"mlentory-crawl/{__version__} (+https://github.com/mlentory/mlentory-crawl; "
    "FAIR4ML metadata harvester)"
)
