#!/usr/bin/env bash
# Install and run the real backing services (Neo4j, Elasticsearch, Redis) without Docker.
#
#   scripts/services.sh up|down|status|restart|reset [neo4j|es|redis|all]   (default: all)
#   scripts/services.sh env        # print NEO4J_URI=... lines (eval-able with `export`)
#
# Everything binds to 127.0.0.1. State (downloads, builds, data, logs, pid files) lives in
# ${MLENTORY_SERVICES_DIR:-<repo>/.services}. Elasticsearch refuses to run as root, so when this
# runs as root ES runs as the system user mlentory-es, and everything that user must reach lives
# outside the repo (whose path it may not be able to traverse, e.g. under /root):
#   /var/lib/mlentory-services/elasticsearch-<version>/   unpacked distribution (shared, read-only)
#   /var/lib/mlentory-services/es-<hash of state dir>/    config, data, logs, run/es.pid,
#                                                         es-version (what last ran there)
# (overrides: MLENTORY_ES_INSTALL_ROOT, MLENTORY_ES_BASE). See docs/services.md.
#
# Knobs: NEO4J_BOLT_PORT (7687), ES_PORT (9200), REDIS_PORT (6379), MLENTORY_SERVICES_DIR,
#        NEO4J_RUNNER_PASSWORD (enables Neo4j auth, user neo4j), MLENTORY_ES_VERSION,
#        MLENTORY_ES_BASE, MLENTORY_ES_INSTALL_ROOT, MLENTORY_ES_USER, MLENTORY_ES_HEAP (512m),
#        MLENTORY_ES_JAVA_HOME, MLENTORY_NEO4J_JAVA_HOME, MLENTORY_NEO4J_HEAP (1g),
#        NEO4J_RUNNER_PAGECACHE_MB (512),
#        MLENTORY_SERVICES_TIMEOUT (seconds to wait for each service to get ready, 300).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${MLENTORY_SERVICES_DIR:-$REPO/.services}"

NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
ES_PORT="${ES_PORT:-9200}"
REDIS_PORT="${REDIS_PORT:-6379}"
TIMEOUT="${MLENTORY_SERVICES_TIMEOUT:-300}"

# The Elasticsearch integ-test-zip from Maven Central (9.3.2 is served; 9.3.0/9.3.1/9.3.3 and
# 9.4+ are not). Runs on the Temurin 25 JDK. Keep the Python client at the same major, minor
# not newer: elasticsearch>=9.3,<9.4 (pyproject.toml).
ES_VERSION="${MLENTORY_ES_VERSION:-9.3.2}"
ES_USER="${MLENTORY_ES_USER:-mlentory-es}"
ES_HEAP="${MLENTORY_ES_HEAP:-512m}"

NEO4J_HEAP="${MLENTORY_NEO4J_HEAP:-1g}"
export NEO4J_RUNNER_PAGECACHE_MB="${NEO4J_RUNNER_PAGECACHE_MB:-512}"

RUNNER_SRC="$REPO/services/neo4j-runner"
NEO4J_MAIN="org.mlentory.neo4jrunner.Neo4jRunner"
NEO4J_READY="NEO4J_RUNNER_READY"

SERVICES=(neo4j es redis)

# ---------------------------------------------------------------------------------------------
# helpers

log() { printf '[services] %s\n' "$*"; }
err() { printf '[services] ERROR: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

mkstate() {
    mkdir -p "$STATE"/{downloads,neo4j,redis,es}
    STATE="$(cd "$STATE" && pwd -P)"
}

es_base() {
    if [ -n "${MLENTORY_ES_BASE:-}" ]; then
        printf '%s\n' "$MLENTORY_ES_BASE"
    elif is_root; then
        local key
        key="$(printf '%s' "$STATE" | sha1sum | cut -c1-10)"
        printf '/var/lib/mlentory-services/es-%s\n' "$key"
    else
        printf '%s/es/instance\n' "$STATE"
    fi
}

java17_home() {
    local c
    for c in "${MLENTORY_NEO4J_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-* \
             /usr/lib/jvm/java-1.17.0-openjdk-*; do
        [ -n "$c" ] && [ -x "$c/bin/java" ] && { printf '%s\n' "$c"; return 0; }
    done
    # fall back to whatever `java` is on PATH
    if command -v java >/dev/null 2>&1; then
        dirname "$(dirname "$(readlink -f "$(command -v java)")")"
        return 0
    fi
    return 1
}

es_java_home() {
    local c
    for c in "${MLENTORY_ES_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-* \
             /usr/lib/jvm/temurin-21-jdk-* /usr/lib/jvm/java-21-openjdk-*; do
        [ -n "$c" ] && [ -x "$c/bin/java" ] && { printf '%s\n' "$c"; return 0; }
    done
    case "$ES_VERSION" in
        8.*) java17_home ;;   # ES 8.x runs on Java 17+
        *) return 1 ;;
    esac
}

# tcp_open PORT -> 0 when something accepts connections on 127.0.0.1:PORT
tcp_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

# proc_running PID -> 0 if the process exists and is not a zombie
proc_running() {
    [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# pid_alive PIDFILE PATTERN -> prints pid and returns 0 if the process is alive and its command
# line contains PATTERN (guards against a recycled pid).
pid_alive() {
    local pidfile="$1" pattern="$2" pid
    [ -s "$pidfile" ] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
    printf '%s\n' "$pid"
}

# stop_pid NAME PIDFILE PATTERN GRACE_SECONDS
stop_pid() {
    local name="$1" pidfile="$2" pattern="$3" grace="$4" pid i
    if ! pid="$(pid_alive "$pidfile" "$pattern")"; then
        if [ -e "$pidfile" ]; then
            log "$name: not running (removing stale pid file)"
            rm -f "$pidfile"
        else
            log "$name: not running"
        fi
        return 0
    fi
    log "$name: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: still alive after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
    fi
    rm -f "$pidfile"
    log "$name: stopped"
}

# port_note PORT -> explains a stopped service whose port is taken by something else
port_note() {
    if tcp_open "$1"; then printf '  (port in use by a process not started from %s)' "$STATE"; fi
}

show_log_tail() {
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
        printf -- '-----\n' >&2
    done
}

# run_mvn LOGFILE ARGS... : Maven with Java 17, serialised (shared ~/.m2) and logged.
run_mvn() {
    local logfile="$1"
    shift
    local jh
    jh="$(java17_home)" || { err "no Java 17 found for Maven"; return 1; }
    command -v mvn >/dev/null 2>&1 || { err "mvn not found (apt-get install maven)"; return 1; }
    (
        flock -w 1800 8 || { echo "timed out waiting for the maven lock" >&2; exit 1; }
        JAVA_HOME="$jh" mvn -B -q -Dstyle.color=never "$@"
    ) 8>"$STATE/.mvn.lock" >"$logfile" 2>&1 </dev/null
}

# ---------------------------------------------------------------------------------------------
# Neo4j (embedded Community DBMS, services/neo4j-runner)

NEO4J_DIR() { printf '%s/neo4j\n' "$STATE"; }

neo4j_build() {
    local dir build stamp want
    dir="$(NEO4J_DIR)"
    build="$dir/runner-build"
    stamp="$build/.source-hash"
    want="$({ cat "$RUNNER_SRC/pom.xml"; find "$RUNNER_SRC/src" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat; } |
        sha1sum | cut -c1-40)"
    if [ -f "$build/neo4j-runner.jar" ] && [ -d "$build/dependency" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "neo4j: building services/neo4j-runner with Maven (the first build downloads Neo4j)"
    rm -rf "$build"
    if ! (cd "$RUNNER_SRC" && run_mvn "$dir/build.log" package dependency:copy-dependencies \
            -DincludeScope=runtime "-Drunner.build.dir=$build"); then
        err "neo4j: runner build failed"
        show_log_tail "$dir/build.log"
        return 1
    fi
    printf '%s\n' "$want" >"$stamp"
}

neo4j_up() {
    local dir pidfile out home jh pid start bgpid
    dir="$(NEO4J_DIR)"
    pidfile="$dir/neo4j.pid"
    out="$dir/neo4j.out"
    home="$dir/home"
    if pid="$(pid_alive "$pidfile" "$NEO4J_MAIN")"; then
        log "neo4j: already running (pid $pid, bolt 127.0.0.1:$NEO4J_BOLT_PORT)"
        return 0
    fi
    rm -f "$pidfile"
    if tcp_open "$NEO4J_BOLT_PORT"; then
        err "neo4j: port $NEO4J_BOLT_PORT is already in use by a process not started from $STATE (set NEO4J_BOLT_PORT)"
        return 1
    fi
    neo4j_build || return 1
    jh="$(java17_home)" || { err "neo4j: no Java 17 found"; return 1; }
    mkdir -p "$home"
    log "neo4j: starting on bolt://127.0.0.1:$NEO4J_BOLT_PORT (home $home)"
    start=$SECONDS
    # The inner shell writes its own pid, then execs java: the pid file is the JVM's pid.
    # shellcheck disable=SC2016
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" \
        "$jh/bin/java" -Xms"$NEO4J_HEAP" -Xmx"$NEO4J_HEAP" -XX:+ExitOnOutOfMemoryError \
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
        -cp "$dir/runner-build/neo4j-runner.jar:$dir/runner-build/dependency/*" \
        "$NEO4J_MAIN" "$home" "$NEO4J_BOLT_PORT" \
        >"$out" 2>&1 </dev/null 8>&- 9>&- &
    bgpid=$!
    while :; do
        if grep -q "$NEO4J_READY" "$out" 2>/dev/null && tcp_open "$NEO4J_BOLT_PORT"; then
            break
        fi
        if ! proc_running "$bgpid" ||
            { [ -s "$pidfile" ] && ! pid_alive "$pidfile" "$NEO4J_MAIN" >/dev/null; }; then
            err "neo4j: process exited during startup"
            show_log_tail "$out" "$home/logs/debug.log"
            rm -f "$pidfile"
            return 1
        fi
        if ((SECONDS - start > TIMEOUT)); then
            err "neo4j: not ready after ${TIMEOUT}s"
            show_log_tail "$out" "$home/logs/debug.log"
            pid="$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)"
            if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
            return 1
        fi
        sleep 1
    done
    log "neo4j: ready in $((SECONDS - start))s (pid $(cat "$pidfile"))"
}

neo4j_down() { stop_pid neo4j "$(NEO4J_DIR)/neo4j.pid" "$NEO4J_MAIN" 90; }

neo4j_status() {
    local pid
    if pid="$(pid_alive "$(NEO4J_DIR)/neo4j.pid" "$NEO4J_MAIN")"; then
        printf '%-6s running  port=%-5s pid=%s  NEO4J_URI=bolt://127.0.0.1:%s\n' neo4j "$NEO4J_BOLT_PORT" "$pid" "$NEO4J_BOLT_PORT"
    else
        printf '%-6s stopped  port=%-5s%s\n' neo4j "$NEO4J_BOLT_PORT" "$(port_note "$NEO4J_BOLT_PORT")"
    fi
}

neo4j_reset() {
    local dir
    dir="$(NEO4J_DIR)"
    rm -rf "${dir:?}/home" "${dir:?}/neo4j.out"
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch (integ-test-zip distribution from Maven Central)

es_pidfile() { printf '%s/run/es.pid\n' "$(es_base)"; }

# Where the (read-only) distribution is unpacked: shared by all state dirs when root.
es_install_root() {
    if [ -n "${MLENTORY_ES_INSTALL_ROOT:-}" ]; then
        printf '%s\n' "$MLENTORY_ES_INSTALL_ROOT"
    elif is_root; then
        printf '/var/lib/mlentory-services\n'
    else
        printf '%s/downloads\n' "$STATE"
    fi
}

es_home() { printf '%s/elasticsearch-%s\n' "$(es_install_root)" "$ES_VERSION"; }

# The version that last started on this instance (written after a successful start; empty for
# an instance made before this stamp existed, which ran 8.19.21).
es_stamp() { printf '%s/es-version\n' "$(es_base)"; }
es_ran_version() { cat "$(es_stamp)" 2>/dev/null || true; }

# es_running_version PID -> the version of a running node (from its -Des.path.home=.../elasticsearch-<v>)
es_running_version() {
    tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | sed -n 's|^-Des.path.home=.*/elasticsearch-\(.*\)$|\1|p' | head -n 1
}

# es_upgradable OLD -> 0 when ES_VERSION can start on data written by OLD: not older, and at
# most one major newer (ES reads the previous major's indices and refuses downgrades).
es_upgradable() {
    local old="$1"
    [ "$(printf '%s\n%s\n' "$old" "$ES_VERSION" | sort -V | tail -n 1)" = "$ES_VERSION" ] &&
        [ $((${ES_VERSION%%.*} - ${old%%.*})) -le 1 ]
}

es_wipe_data() {
    local base
    base="$(es_base)"
    rm -rf "${base:?}/data"
    mkdir -p "$base/data"
    if is_root; then chown "$ES_USER:" "$base/data"; fi
}

# es_carry_data PREVIOUS: on a version change, keep the data when ES_VERSION can read it, else
# wipe it (the index is a projection of DATA_DIR/normalized: `scrapy load --only es --rebuild`
# refills it). Sets ES_CARRIED to the previous version when data was kept across a change.
ES_CARRIED=""
es_carry_data() {
    local prev="$1" data
    data="$(es_base)/data"
    ES_CARRIED=""
    [ "$prev" != "$ES_VERSION" ] || return 0
    [ -n "$(ls -A "$data" 2>/dev/null)" ] || return 0
    if [ -z "$prev" ] || es_upgradable "$prev"; then
        ES_CARRIED="${prev:-8.19.21}"
        log "es: keeping the data of Elasticsearch $ES_CARRIED for $ES_VERSION (wiped if it cannot start on it)"
    else
        log "es: Elasticsearch $ES_VERSION cannot read the data of $prev: wiping $data" \
            "(refill with \`scrapy load --only es --rebuild\`)"
        es_wipe_data
    fi
}

es_fetch() {
    local zip="$STATE/downloads/elasticsearch-$ES_VERSION.zip" tmpdir
    [ -s "$zip" ] && return 0
    log "es: downloading org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
    tmpdir="$(mktemp -d "$STATE/downloads/.fetch.XXXXXX")"
    if ! run_mvn "$STATE/es/fetch.log" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
            "-DoutputDirectory=$tmpdir"; then
        err "es: download of Elasticsearch $ES_VERSION failed"
        show_log_tail "$STATE/es/fetch.log"
        rm -rf "$tmpdir"
        return 1
    fi
    mv -f "$tmpdir/elasticsearch-$ES_VERSION.zip" "$zip" || return 1
    rm -rf "$tmpdir"
}

es_install() {
    local base home root tmp prev
    base="$(es_base)"
    root="$(es_install_root)"
    home="$(es_home)"
    mkdir -p "$root" "$base"/{data,logs,run}
    if [ ! -x "$home/bin/elasticsearch" ]; then
        es_fetch || return 1
        log "es: unpacking Elasticsearch $ES_VERSION into $home"
        tmp="$(mktemp -d "$root/.unzip.XXXXXX")"
        if ! unzip -q "$STATE/downloads/elasticsearch-$ES_VERSION.zip" -d "$tmp"; then
            err "es: cannot unzip $STATE/downloads/elasticsearch-$ES_VERSION.zip (removed it; run up again)"
            rm -rf "$tmp" "$STATE/downloads/elasticsearch-$ES_VERSION.zip"
            return 1
        fi
        chmod -R a+rX,go-w "$tmp/elasticsearch-$ES_VERSION"
        # atomic; if a concurrent run got there first, keep theirs
        mv -T "$tmp/elasticsearch-$ES_VERSION" "$home" 2>/dev/null || [ -x "$home/bin/elasticsearch" ] || return 1
        rm -rf "$tmp"
    fi
    # Each instance gets its own config dir (ES writes its keystore there); the install stays
    # read-only. A version change brings that version's config (jvm.options, log4j2 differ).
    prev="$(es_ran_version)"
    if [ ! -f "$base/config/elasticsearch.yml" ] || [ "$prev" != "$ES_VERSION" ]; then
        rm -rf "$base/config"
        cp -R "$home/config" "$base/config" || return 1
    fi
    es_carry_data "$prev"
    if is_root; then
        if ! id -u "$ES_USER" >/dev/null 2>&1; then
            log "es: creating system user $ES_USER"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$ES_USER" || return 1
        fi
        chmod 755 "$root" "$(dirname "$base")" "$base"
        if [ "$(stat -c %U "$base/config")" != "$ES_USER" ] || [ "$(stat -c %U "$base/data")" != "$ES_USER" ]; then
            chown -R "$ES_USER:" "$base/config" "$base/data" "$base/logs" "$base/run" || return 1
        fi
        chown "$ES_USER:" "$base/config" "$base/data" "$base/logs" "$base/run" || return 1
    fi
}

# es_launch JAVA_HOME -> starts the node and waits for health. 0: ready; 1: the node exited
# (or never started); 2: not healthy within TIMEOUT. Prints no log tails (the caller does).
es_launch() {
    local jh="$1" base home pidfile url start security=() launcher=()
    base="$(es_base)"
    home="$(es_home)"
    pidfile="$(es_pidfile)"
    url="http://127.0.0.1:$ES_PORT"
    # Only pass xpack.security.enabled when the module exists: unknown settings stop ES.
    [ -d "$home/modules/x-pack-security" ] && security=(-E xpack.security.enabled=false)
    if is_root; then
        launcher=(runuser -u "$ES_USER" --)
    fi
    rm -f "$pidfile"
    log "es: starting Elasticsearch $ES_VERSION on $url (data $base/data, java $jh)"
    start=$SECONDS
    # -d daemonizes once the node has started (or fails); -p writes the server's pid.
    if ! (cd "$base" && "${launcher[@]}" env -u JAVA_HOME -u ES_TMPDIR HOME="$base" \
            ES_PATH_CONF="$base/config" ES_JAVA_HOME="$jh" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
            "$home/bin/elasticsearch" -d -p "$pidfile" \
            -E discovery.type=single-node -E network.host=127.0.0.1 -E "http.port=$ES_PORT" \
            -E cluster.routing.allocation.disk.threshold_enabled=false \
            -E "path.data=$base/data" -E "path.logs=$base/logs" "${security[@]}" \
            >"$STATE/es/startup.log" 2>&1 </dev/null 8>&- 9>&-); then
        err "es: Elasticsearch failed to start"
        return 1
    fi
    while ! curl -fsS -o /dev/null --max-time 10 "$url/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null; do
        if [ -s "$pidfile" ] && ! pid_alive "$pidfile" org.elasticsearch >/dev/null; then
            err "es: process exited during startup"
            return 1
        fi
        if ((SECONDS - start > TIMEOUT)); then
            err "es: not healthy after ${TIMEOUT}s"
            return 2
        fi
        sleep 1
    done
    log "es: ready in $((SECONDS - start))s (pid $(cat "$pidfile" 2>/dev/null || echo '?'))"
}

es_up() {
    local base pidfile jh pid rc ran
    base="$(es_base)"
    pidfile="$(es_pidfile)"
    if pid="$(pid_alive "$pidfile" org.elasticsearch)"; then
        ran="$(es_running_version "$pid")"
        if [ -z "$ran" ] || [ "$ran" = "$ES_VERSION" ]; then
            log "es: already running (pid $pid, http://127.0.0.1:$ES_PORT)"
            return 0
        fi
        # This state dir started it: replace it with the version asked for.
        log "es: the running node (pid $pid) is Elasticsearch $ran; switching to $ES_VERSION"
        es_down || return 1
    fi
    if tcp_open "$ES_PORT"; then
        err "es: port $ES_PORT is already in use by a process not started from $STATE (set ES_PORT)"
        return 1
    fi
    command -v curl >/dev/null 2>&1 || { err "es: curl is required (bash scripts/install-system.sh)"; return 1; }
    command -v unzip >/dev/null 2>&1 || { err "es: unzip is required (bash scripts/install-system.sh)"; return 1; }
    es_install || return 1
    jh="$(es_java_home)" || {
        err "es: no JDK for Elasticsearch $ES_VERSION (9.x needs Java 21+: /usr/lib/jvm/temurin-25-*, or set MLENTORY_ES_JAVA_HOME)"
        return 1
    }
    case "$base" in "$STATE"/*) ;; *) ln -sfn "$base" "$STATE/es/instance" ;; esac
    rc=0
    es_launch "$jh" || rc=$?
    if [ "$rc" -eq 1 ] && [ -n "$ES_CARRIED" ]; then
        # The data of the previous version is what stopped it (e.g. too old to upgrade from).
        show_log_tail "$base/logs/elasticsearch.log"
        log "es: Elasticsearch $ES_VERSION did not start on the data of $ES_CARRIED: wiping" \
            "$base/data and retrying (refill with \`scrapy load --only es --rebuild\`)"
        es_wipe_data
        ES_CARRIED=""
        rc=0
        es_launch "$jh" || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        show_log_tail "$STATE/es/startup.log" "$base/logs/elasticsearch.log"
        return 1
    fi
    printf '%s\n' "$ES_VERSION" >"$(es_stamp)"
}

es_down() { stop_pid es "$(es_pidfile)" org.elasticsearch 60; }

es_status() {
    local pid ran
    if pid="$(pid_alive "$(es_pidfile)" org.elasticsearch)"; then
        ran="$(es_running_version "$pid")"
        printf '%-6s running  port=%-5s pid=%s  ELASTICSEARCH_URL=http://127.0.0.1:%s (v%s)\n' es "$ES_PORT" "$pid" "$ES_PORT" "${ran:-?}"
    else
        printf '%-6s stopped  port=%-5s%s\n' es "$ES_PORT" "$(port_note "$ES_PORT")"
    fi
}

es_reset() {
    local base
    base="$(es_base)"
    rm -rf "${base:?}/data" "${base:?}/logs" "${base:?}/run" "${base:?}/config" "$(es_stamp)"
}

# ---------------------------------------------------------------------------------------------
# Redis (Debian redis-server)

redis_install() {
    command -v redis-server >/dev/null 2>&1 && return 0
    if ! is_root; then
        err "redis: redis-server is missing; run: sudo bash scripts/install-system.sh"
        return 1
    fi
    log "redis: installing the Debian package redis-server"
    local l="$STATE/redis/apt.log"
    local opts=(-qq -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
    if ! DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends redis-server >"$l" 2>&1 </dev/null; then
        # package lists missing or stale: update once, then retry
        if ! { DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update &&
               DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends redis-server; } >>"$l" 2>&1 </dev/null; then
            err "redis: apt-get install redis-server failed"
            show_log_tail "$l"
            return 1
        fi
    fi
    command -v redis-server >/dev/null 2>&1 || { err "redis: redis-server still missing"; return 1; }
}

redis_ping() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 &&
            [ "${line%$'\r'}" = "+PONG" ]) 2>/dev/null
    fi
}

redis_up() {
    local dir="$STATE/redis" pid start
    if pid="$(pid_alive "$dir/redis.pid" redis-server)"; then
        log "redis: already running (pid $pid, redis://127.0.0.1:$REDIS_PORT/0)"
        return 0
    fi
    rm -f "$dir/redis.pid"
    if tcp_open "$REDIS_PORT"; then
        err "redis: port $REDIS_PORT is already in use by a process not started from $STATE (set REDIS_PORT)"
        return 1
    fi
    redis_install || return 1
    log "redis: starting on redis://127.0.0.1:$REDIS_PORT/0"
    start=$SECONDS
    if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
            >"$dir/startup.log" 2>&1 </dev/null 8>&- 9>&-; then
        err "redis: redis-server failed to start"
        show_log_tail "$dir/startup.log" "$dir/redis.log"
        return 1
    fi
    until redis_ping && [ -s "$dir/redis.pid" ]; do
        if ((SECONDS - start > 30)); then
            err "redis: no PONG after 30s"
            show_log_tail "$dir/startup.log" "$dir/redis.log"
            return 1
        fi
        sleep 0.2
    done
    log "redis: ready (pid $(cat "$dir/redis.pid"))"
}

redis_down() { stop_pid redis "$STATE/redis/redis.pid" redis-server 20; }

redis_status() {
    local pid
    if pid="$(pid_alive "$STATE/redis/redis.pid" redis-server)"; then
        printf '%-6s running  port=%-5s pid=%s  REDIS_URL=redis://127.0.0.1:%s/0\n' redis "$REDIS_PORT" "$pid" "$REDIS_PORT"
    else
        printf '%-6s stopped  port=%-5s%s\n' redis "$REDIS_PORT" "$(port_note "$REDIS_PORT")"
    fi
}

redis_reset() { rm -f "$STATE/redis/redis.log" "$STATE/redis/startup.log"; }

# ---------------------------------------------------------------------------------------------
# commands

print_urls() {
    local s
    for s in "$@"; do
        case "$s" in
            neo4j) echo "NEO4J_URI=bolt://127.0.0.1:$NEO4J_BOLT_PORT" ;;
            es) echo "ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT" ;;
            redis) echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" ;;
        esac
    done
}

cmd_up() {
    local rc=0 s pids=() names=() i
    # Neo4j and Elasticsearch take the longest: start them concurrently, Redis meanwhile.
    for s in "$@"; do
        case "$s" in
            neo4j | es)
                "${s}_up" &
                pids+=("$!")
                names+=("$s")
                ;;
        esac
    done
    for s in "$@"; do
        if [ "$s" = redis ]; then
            redis_up || rc=1
        fi
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            err "${names[$i]}: failed to start"
            rc=1
        fi
    done
    if [ "$rc" -ne 0 ]; then
        err "some services failed to start (state dir: $STATE); stop the others with: bash scripts/services.sh down"
        return 1
    fi
    log "up: all requested services are running; use:"
    print_urls "$@"
}

cmd_down() {
    local s pids=() rc=0 p
    # stop concurrently: each waits for its own process to exit
    for s in "$@"; do
        "${s}_down" &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    return "$rc"
}

cmd_status() {
    local s
    for s in "$@"; do
        "${s}_status"
    done
}

cmd_reset() {
    cmd_down "$@"
    local s
    for s in "$@"; do
        "${s}_reset"
        log "$s: data removed"
    done
}

usage() {
    cat >&2 <<EOF
usage: $(basename "$0") up|down|status|restart|reset [neo4j|es|redis|all ...]
       $(basename "$0") env
  state dir: $STATE
EOF
    exit 2
}

main() {
    [ $# -ge 1 ] || usage
    local cmd="$1"
    shift
    local targets=() s
    [ $# -eq 0 ] && set -- all
    for s in "$@"; do
        case "$s" in
            all) targets+=("${SERVICES[@]}") ;;
            neo4j | es | redis) targets+=("$s") ;;
            elasticsearch) targets+=(es) ;;
            *) err "unknown service: $s"; usage ;;
        esac
    done
    # de-duplicate, keep order
    local uniq=() seen=" "
    for s in "${targets[@]}"; do
        case "$seen" in *" $s "*) ;; *) uniq+=("$s"); seen+="$s " ;; esac
    done

    case "$cmd" in
        env)
            print_urls neo4j es redis
            return 0
            ;;
        status)
            mkstate
            cmd_status "${uniq[@]}"
            return 0
            ;;
        up | down | restart | reset) ;;
        *) usage ;;
    esac

    mkstate
    # One up/down/restart/reset at a time per state dir. fd 9 is closed for every service process.
    exec 9>"$STATE/.lock"
    if ! flock -w 900 9; then
        err "another services.sh is still running on $STATE"
        return 1
    fi
    case "$cmd" in
        up) cmd_up "${uniq[@]}" ;;
        down) cmd_down "${uniq[@]}" ;;
        restart) cmd_down "${uniq[@]}" && cmd_up "${uniq[@]}" ;;
        reset) cmd_reset "${uniq[@]}" ;;
    esac
}

main "$@"
