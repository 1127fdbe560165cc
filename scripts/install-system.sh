#!/usr/bin/env bash
# Idempotent installer for the Debian packages mlentory-crawl needs on a machine without Docker:
#   chromium      - headless browser for scrapy-playwright (never run `playwright install`)
#   redis-server  - Redis for distributed crawling (scrapy-redis)
#   curl, unzip   - used by scripts/services.sh
#   openjdk-17-jdk-headless, maven - build/run the embedded Neo4j and fetch Elasticsearch
#                   (normally preinstalled). Elasticsearch 9.x needs Java 21+: it runs on the
#                   Temurin 25 JDK under /usr/lib/jvm (preinstalled; Debian 12 ships no JDK 21+,
#                   set MLENTORY_ES_JAVA_HOME to another one)
#
# Runs `apt-get update` only when some package is missing. Needs root (or sudo) for installs.
set -euo pipefail

PACKAGES=(chromium redis-server curl unzip openjdk-17-jdk-headless maven)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-system: all present (${PACKAGES[*]})"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-system: missing ${missing[*]} and not root (no sudo available)" >&2
        exit 1
    fi
fi

echo "install-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-qq -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
log="$(mktemp -t install-system.XXXXXX.log)"
ok=0
# Another apt/dpkg run may hold the lock (apt-get update does not honour DPkg::Lock::Timeout),
# so retry a few times while the error is a lock error.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if { "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update &&
         "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y \
             --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        ok=1
        break
    fi
    grep -qiE "could not get lock|unable to acquire|unable to lock" "$log" || break
    echo "install-system: apt is busy (another apt/dpkg run holds the lock), retrying in 15s ($attempt/10)"
    sleep 15
done
if [ "$ok" -ne 1 ]; then
    echo "install-system: apt-get failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
rm -f "$log"

for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        echo "install-system: $pkg still not installed" >&2
        exit 1
    fi
done
echo "install-system: done"
