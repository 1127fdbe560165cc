"""Command line: ``python -m mlentory_crawl.replay --root DIR [--scenario NAME] [--port N]``.

Prints the base URL on the first line of stdout (then serves until interrupted), e.g.::

    $ python -m mlentory_crawl.replay --sample huggingface --port 8765
    http://127.0.0.1:8765
    $ HF_ENDPOINT=http://127.0.0.1:8765 scrapy crawl huggingface -O items.jsonl
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from mlentory_crawl.replay import sample_root
from mlentory_crawl.replay.manifest import ManifestError
from mlentory_crawl.replay.server import LoggedRequest, ReplayServer


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the replay command."""
    parser = argparse.ArgumentParser(
        prog="python -m mlentory_crawl.replay",
        description="Serve recorded responses (a replay directory with routes.json).",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--root", help="replay directory (holding routes.json)")
    where.add_argument("--sample", metavar="SOURCE", help="a packaged sample, e.g. huggingface")
    parser.add_argument("--scenario", help="use routes-<SCENARIO>.json (e.g. 429, 503)")
    parser.add_argument("--manifest", help="manifest file, relative to the root")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds to wait before every answer"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    if args.delay < 0:
        print("error: --delay must be >= 0", file=sys.stderr)
        return 2
    try:
        root = sample_root(args.sample) if args.sample else args.root
        server = ReplayServer(
            root,
            scenario=args.scenario,
            manifest=args.manifest,
            host=args.host,
            port=args.port,
            delay=args.delay,
            on_request=None if args.quiet else _print_request,
        )
    except (ManifestError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(server.url, flush=True)
    print(
        f"replay: serving {server.manifest} ({len(server.routes)} routes) on {server.url}",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        server.request_shutdown()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _print_request(entry: LoggedRequest) -> None:
    query = f"?{entry.query_string}" if entry.query_string else ""
    print(f"{entry.status} {entry.method} {entry.path}{query}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
