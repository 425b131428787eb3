#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests.
#
#   eval "$(bash scripts/postgres.sh start)"   # prints: export OJEK_TEST_POSTGRES_URL=postgres://…
#   cargo test -p ojek-store
#   bash scripts/postgres.sh stop               # stops it and deletes its data
#
# `start` installs Debian's `postgresql` package if no server binaries are found, creates a
# cluster in $OJEK_PG_DIR (default /tmp/ojek-pg-test) owned by the `postgres` user (the server
# refuses to run as root), listens on 127.0.0.1 on a free port with password authentication,
# and waits until it accepts connections. Durability is off (fsync, synchronous_commit): test
# data only. `start` on a running server prints its URL again. Only the export line goes to
# stdout; progress and errors go to stderr.
set -euo pipefail

dir="${OJEK_PG_DIR:-/tmp/ojek-pg-test}"
data="$dir/data"
state="$dir/url"
password="ojek"

log() { echo "postgres.sh: $*" >&2; }

# The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl.
find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    log "installing PostgreSQL (apt-get install -y postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends postgresql >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends postgresql >&2
    fi
}

# Runs a command as the user that owns the cluster.
as_owner() {
    if [[ "$(id -u)" != 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local port
    for port in $(seq 55432 55532); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    log "no free port in 55432-55532"
    return 1
}

# Prints the URL if the recorded server answers.
running_url() {
    [[ -f "$state" ]] || return 1
    local url port bin
    url="$(cat "$state")"
    port="${url##*:}"
    port="${port%%/*}"
    bin="$(find_bin)" || return 1
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || return 1
    echo "$url"
}

start() {
    local url
    if url="$(running_url)"; then
        log "already running"
        echo "export OJEK_TEST_POSTGRES_URL=$url"
        return
    fi
    stop_quietly

    local bin
    if ! bin="$(find_bin)"; then
        install_postgres
        bin="$(find_bin)" || { log "PostgreSQL installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"; exit 1; }
    fi
    if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi

    mkdir -p "$dir"
    chmod 700 "$dir"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
    local pwfile="$dir/pwfile"
    echo "$password" >"$pwfile"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$pwfile"

    log "initdb in $data ($bin)"
    as_owner "$bin/initdb" -D "$data" --username=postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >&2
    rm -f "$pwfile"

    local port
    port="$(free_port)"
    log "starting on 127.0.0.1:$port"
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=300" start >&2 || {
        log "pg_ctl start failed; server log:"
        cat "$dir/server.log" >&2 || true
        exit 1
    }
    local i
    for i in $(seq 1 60); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
        [[ "$i" == 60 ]] && { log "server did not become ready"; exit 1; }
        sleep 0.5
    done

    url="postgres://postgres:$password@127.0.0.1:$port/postgres"
    echo "$url" >"$state"
    echo "export OJEK_TEST_POSTGRES_URL=$url"
}

stop_quietly() {
    local bin
    if [[ -d "$data" ]] && bin="$(find_bin)"; then
        as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >&2 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop)
        stop_quietly
        log "stopped"
        ;;
    url)
        running_url || { log "not running"; exit 1; }
        ;;
    *)
        echo "usage: bash scripts/postgres.sh start|stop|url" >&2
        exit 2
        ;;
esac
