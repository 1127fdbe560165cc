"""Project defaults. Everything a user tunes comes from the environment (see .env.example)."""

from __future__ import annotations

import os

from mlentory_crawl import USER_AGENT as _UA

BOT_NAME = "mlentory_crawl"
SPIDER_MODULES = ["mlentory_crawl.spiders"]
NEWSPIDER_MODULE = "mlentory_crawl.spiders"
COMMANDS_MODULE = "mlentory_crawl.commands"

USER_AGENT = os.environ.get("MLENTORY_USER_AGENT", _UA)
ROBOTSTXT_OBEY = False  # APIs and dumps, not pages; per-spider override for the jsonld spider
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
TELNETCONSOLE_ENABLED = False
# Scrapy's remote-control HTTP server: off unless explicitly asked for (design §6).
REMOTE_CONTROL_ENABLED = os.environ.get("REMOTE_CONTROL_ENABLED", "0") in ("1", "true", "True")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMATTER = "mlentory_crawl.logformatter.ItemNamingLogFormatter"

# Politeness and robustness toward sources.
CONCURRENT_REQUESTS = int(os.environ.get("CONCURRENT_REQUESTS", "8"))
CONCURRENT_REQUESTS_PER_DOMAIN = int(os.environ.get("CONCURRENT_REQUESTS_PER_DOMAIN", "4"))
AUTOTHROTTLE_ENABLED = os.environ.get("AUTOTHROTTLE_ENABLED", "1") not in ("0", "false", "False")
AUTOTHROTTLE_START_DELAY = float(os.environ.get("AUTOTHROTTLE_START_DELAY", "0.5"))
AUTOTHROTTLE_MAX_DELAY = float(os.environ.get("AUTOTHROTTLE_MAX_DELAY", "60"))
AUTOTHROTTLE_TARGET_CONCURRENCY = float(os.environ.get("AUTOTHROTTLE_TARGET_CONCURRENCY", "2"))
RETRY_ENABLED = True
RETRY_TIMES = int(os.environ.get("RETRY_TIMES", "5"))
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
RETRY_MAX_DELAY = float(os.environ.get("RETRY_MAX_DELAY", "300"))  # cap of one back-off wait
DOWNLOAD_MAXSIZE = int(os.environ.get("DOWNLOAD_MAXSIZE", str(256 * 1024 * 1024)))
DOWNLOAD_WARNSIZE = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = int(os.environ.get("DOWNLOAD_TIMEOUT", "60"))
HTTPCACHE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # 429 with RateLimit / Retry-After, and 5xx with exponential backoff.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "mlentory_crawl.middlewares.BackoffRetryMiddleware": 550,
}

ITEM_PIPELINES = {
    "mlentory_crawl.pipelines.raw_store.RawStorePipeline": 100,
    "mlentory_crawl.pipelines.normalize.NormalizePipeline": 200,
    "mlentory_crawl.pipelines.json_store.JsonStorePipeline": 300,
    "mlentory_crawl.pipelines.turtle_store.TurtleStorePipeline": 400,
    "mlentory_crawl.pipelines.neo4j_upsert.Neo4jPipeline": 500,
    "mlentory_crawl.pipelines.es_index.ElasticsearchPipeline": 600,
}
EXTENSIONS = {
    "mlentory_crawl.extensions.CrawlSummary": 500,
}

# The project's own numeric settings below stay text: their typed configs parse and check them
# at start, so a bad value stops the crawl with the setting's name, not a traceback at import.

# Crash-safe JOBDIR resumption: a request journal in JOBDIR/resume.sqlite (docs/resume.md).
SCHEDULER = "mlentory_crawl.resume.JournalScheduler"
RESUME_JOURNAL_ENABLED = os.environ.get("RESUME_JOURNAL_ENABLED", "1") not in ("0", "false")
RESUME_CHECKPOINT_INTERVAL = os.environ.get("RESUME_CHECKPOINT_INTERVAL", "0.5")

# Files (the durable record).
DATA_DIR = os.environ.get("DATA_DIR", "./data")
STORE_PART_RECORDS = os.environ.get("STORE_PART_RECORDS", "10000")
MLENTORY_BASE_IRI = os.environ.get("MLENTORY_BASE_IRI", "https://example.org/mlentory-crawl/")
RAW_STORE_ENABLED = os.environ.get("RAW_STORE_ENABLED", "1") not in ("0", "false", "False")

# Sources.
HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
HF_TOKEN = os.environ.get("HF_TOKEN", "")
HF_PAGE_SIZE = os.environ.get("HF_PAGE_SIZE", "500")
OPENML_ENDPOINT = os.environ.get("OPENML_ENDPOINT", "https://www.openml.org")
OPENML_APIKEY = os.environ.get("OPENML_APIKEY", "")
# Hypha artifact manager serving the zoo (sources.md §4.1); the S3 bucket is the old backend.
BIOIMAGEIO_ENDPOINT = os.environ.get("BIOIMAGEIO_ENDPOINT", "https://hypha.aicell.io")
BIOIMAGEIO_PAGE_SIZE = os.environ.get("BIOIMAGEIO_PAGE_SIZE", "100")
PWC_DUMPS_URL = os.environ.get("PWC_DUMPS_URL", "")

# Stores (off unless configured).
NEO4J_URI = os.environ.get("NEO4J_URI", "")
NEO4J_USER = os.environ.get("NEO4J_USER", "neo4j")
NEO4J_PASSWORD = os.environ.get("NEO4J_PASSWORD", "")
NEO4J_DATABASE = os.environ.get("NEO4J_DATABASE", "neo4j")
NEO4J_BATCH_SIZE = os.environ.get("NEO4J_BATCH_SIZE", "500")
NEO4J_FLUSH_INTERVAL = os.environ.get("NEO4J_FLUSH_INTERVAL", "5")
NEO4J_CONNECT_TIMEOUT = os.environ.get("NEO4J_CONNECT_TIMEOUT", "30")  # wait at start
NEO4J_RETRY_SECONDS = os.environ.get("NEO4J_RETRY_SECONDS", "60")  # per batch, then unsent
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
ELASTICSEARCH_API_KEY = os.environ.get("ELASTICSEARCH_API_KEY", "")
ELASTICSEARCH_USER = os.environ.get("ELASTICSEARCH_USER", "")
ELASTICSEARCH_PASSWORD = os.environ.get("ELASTICSEARCH_PASSWORD", "")
ELASTICSEARCH_INDEX = os.environ.get("ELASTICSEARCH_INDEX", "mlentory-models")
ELASTICSEARCH_BATCH_SIZE = os.environ.get("ELASTICSEARCH_BATCH_SIZE", "500")
ELASTICSEARCH_FLUSH_INTERVAL = os.environ.get("ELASTICSEARCH_FLUSH_INTERVAL", "5")
ELASTICSEARCH_CONNECT_TIMEOUT = os.environ.get("ELASTICSEARCH_CONNECT_TIMEOUT", "30")
ELASTICSEARCH_RETRY_SECONDS = os.environ.get("ELASTICSEARCH_RETRY_SECONDS", "60")
ELASTICSEARCH_MAX_BULK_BYTES = os.environ.get("ELASTICSEARCH_MAX_BULK_BYTES", "20000000")
ELASTICSEARCH_REQUEST_TIMEOUT = os.environ.get("ELASTICSEARCH_REQUEST_TIMEOUT", "60")
ELASTICSEARCH_SHARDS = os.environ.get("ELASTICSEARCH_SHARDS", "1")
ELASTICSEARCH_REPLICAS = os.environ.get("ELASTICSEARCH_REPLICAS", "0")
ELASTICSEARCH_REFRESH_INTERVAL = os.environ.get("ELASTICSEARCH_REFRESH_INTERVAL", "30s")

# JavaScript rendering (only used by requests that ask for it).
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
    "headless": True,
    "args": [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
}

FEED_EXPORT_ENCODING = "utf-8"
