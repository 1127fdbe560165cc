#!/usr/bin/env bash
# Offline demo: serve the sample data shipped with the package in the source's URL layout,
# harvest it with the real spider into ./data (FAIR4ML JSON + Turtle), then stop the server.
#   bash scripts/demo.sh [huggingface|openml|bioimageio|paperswithcode|jsonld] [-a ARG=VALUE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
source_name=${1:-huggingface}
shift || true
PYTHON=${PYTHON:-python3}
log=$(mktemp)
"$PYTHON" -m mlentory_crawl.replay --sample "$source_name" --quiet >"$log" 2>&1 &
replay_pid=$!
trap 'kill "$replay_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  url=$(grep -m1 -o 'http://127\.0\.0\.1:[0-9]*' "$log" || true)
  [ -n "$url" ] && break
  kill -0 "$replay_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "replay server did not start"; cat "$log"; exit 1; }
echo "== replay server for $source_name on $url"

case "$source_name" in
  huggingface) export HF_ENDPOINT="$url" ;;
  openml) export OPENML_ENDPOINT="$url" ;;
  bioimageio) export BIOIMAGEIO_ENDPOINT="$url" ;;
  paperswithcode) export PWC_DUMPS_URL="$url" ;;
  jsonld) set -- -a "sitemap=$url/sitemap.xml" "$@" ;;
esac
export DATA_DIR=${DATA_DIR:-./data}
scrapy crawl "$source_name" "$@"

echo "== harvested into $DATA_DIR"
find "$DATA_DIR" -path "*/$source_name/*" -name 'part-*' -newer "$log" -print0 \
  | xargs -0 -r wc -l
