# shellcheck shell=bash
# Project-local services, sourced after env.sh:
#
#   ensure_packages   apt-get install PostgreSQL 15 + PostGIS 3 + Mosquitto (+ what builds its plugin) when missing,
#                     and Debian's chromium (/usr/bin/chromium: the browser tests of tests/gui, docs/gui.md)
#   start_postgres    project cluster in $RUN_DIR/pg (port ${STA_PG_PORT:-55432}),
#                     exports STA_DATABASE_URL   (skipped when STA_DATABASE_URL/DATABASE_URL is set)
#   start_mosquitto   project broker in $RUN_DIR/mosquitto (port ${STA_MQTT_PORT:-18830}),
#                     with the plugin of broker_plugin/ (built here with gcc) and a WebSockets listener
#                     for browsers (port ${STA_MQTT_WS_PORT:-18831}, same users and ACL; 0 turns it off),
#                     exports STA_MQTT_URL, STA_MQTT_WS_URL, STA_MQTT_AUTH_DIR and STA_MQTT_IDENTITY=broker
#                                                (skipped when STA_MQTT_URL/MQTT_URL is set)
#   stop_services     stops the project cluster and broker (never the system ones)
#
# All functions are idempotent and return non-zero on failure.  The system PostgreSQL on 5432
# and the system Mosquitto on 1883 are never used or touched.

if ! declare -F sta_log >/dev/null; then
    # shellcheck source=scripts/env.sh
    source "$(dirname "${BASH_SOURCE[0]}")/env.sh" || return 1
fi

STA_PG_VERSION=15
STA_PG_BIN="/usr/lib/postgresql/$STA_PG_VERSION/bin"
STA_PG_DIR="$RUN_DIR/pg"
STA_PG_DATA="$STA_PG_DIR/data"
STA_PG_LOG="$STA_PG_DIR/log"
STA_MQTT_DIR="$RUN_DIR/mosquitto"
STA_MQTT_CONF="$STA_MQTT_DIR/mosquitto.conf"
STA_MQTT_PID="$STA_MQTT_DIR/mosquitto.pid"
STA_MQTT_LOG="$STA_MQTT_DIR/mosquitto.log"
STA_MQTT_PLUGIN_SRC="$ROOT/broker_plugin/sta_identity.c"
STA_MQTT_PLUGIN="$STA_MQTT_DIR/sta_identity.so"

# --- helpers --------------------------------------------------------------------------------

_sta_is_root() { [[ "$(id -u)" -eq 0 ]]; }

_sta_as_root() {  # run a command as root (sudo when not root)
    if _sta_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        sta_die "need root to run: $*"
    fi
}

# PostgreSQL refuses to run as root: as root we run the cluster as the user `postgres`,
# otherwise as the current user.
_sta_pg_user() { if _sta_is_root; then echo postgres; else id -un; fi; }
_sta_as_pg() {
    if _sta_is_root; then
        (cd / && sta_nolocks runuser -u postgres -- "$@")
    else
        sta_nolocks "$@"
    fi
}

# Normalise a database URL for SQLAlchemy + psycopg 3 (postgres://, postgresql:// -> postgresql+psycopg://)
_sta_sqlalchemy_url() {
    local url="$1"
    case "$url" in
        postgres://*) url="postgresql+psycopg://${url#postgres://}" ;;
        postgresql://*) url="postgresql+psycopg://${url#postgresql://}" ;;
    esac
    printf '%s\n' "$url"
}
# ... and back to a libpq URL (for psql)
_sta_libpq_url() { printf '%s\n' "$1" | sed -E 's#^postgres(ql)?(\+[a-z0-9_]+)?://#postgresql://#'; }

# hide the password of a URL
sta_redact_url() { printf '%s\n' "$1" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'; }

# Resolve DATABASE_URL / MQTT_URL aliases.  A URL that we exported ourselves for the local
# services (remembered in _STA_LOCAL_*) does not count as "set by the user".
_sta_external_db_url() {
    local url="${STA_DATABASE_URL:-${DATABASE_URL:-}}"
    if [[ -n "$url" && "$url" != "${_STA_LOCAL_DATABASE_URL:-}" ]]; then
        printf '%s\n' "$url"
    fi
}
_sta_external_mqtt_url() {
    local url="${STA_MQTT_URL:-${MQTT_URL:-}}"
    if [[ -n "$url" && "$url" != "${_STA_LOCAL_MQTT_URL:-}" ]]; then
        printf '%s\n' "$url"
    fi
}

# Wait until 127.0.0.1:$1 accepts TCP connections (timeout $2 seconds, default 15).
_sta_wait_port() {
    local port="$1" timeout="${2:-15}" i
    for ((i = 0; i < timeout * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Is a TCP port on 127.0.0.1 already in use?
_sta_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Make sure user $1 can traverse every parent directory of $2 (e.g. a checkout below /root).
_sta_grant_traverse() {
    local user="$1" dir="$2" d
    _sta_is_root || return 0
    d="$dir"
    while [[ "$d" != "/" && -n "$d" ]]; do
        d="$(dirname "$d")"
        if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
            if command -v setfacl >/dev/null 2>&1; then
                sta_log "granting $user traverse (x) on $d via ACL"
                setfacl -m "u:$user:x" "$d" || return 1
            else
                sta_log "granting traverse (o+x) on $d so that $user can reach $dir"
                chmod o+x "$d" || return 1
            fi
        fi
    done
}

_sta_ensure_user() {  # create a system user (and group) when missing
    local user="$1" home="$2"
    id -u "$user" >/dev/null 2>&1 && return 0
    _sta_is_root || { sta_die "user $user does not exist (run as root once)"; return 1; }
    sta_log "creating system user $user"
    useradd --system --user-group --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$user"
}

# --- packages -------------------------------------------------------------------------------

_sta_pkg_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

ensure_packages() {
    local -a need=()
    if [[ -z "$(_sta_external_db_url)" ]]; then
        if [[ ! -x "$STA_PG_BIN/initdb" ]] || ! _sta_pkg_installed "postgresql-$STA_PG_VERSION"; then
            need+=("postgresql-$STA_PG_VERSION")
        fi
        _sta_pkg_installed "postgresql-$STA_PG_VERSION-postgis-3" || need+=("postgresql-$STA_PG_VERSION-postgis-3")
    fi
    if [[ -z "$(_sta_external_mqtt_url)" ]]; then
        command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || need+=(mosquitto)
        command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
        # the broker plugin (broker_plugin/): the broker's plugin headers, libcrypto's, a compiler
        _sta_pkg_installed mosquitto-dev || need+=(mosquitto-dev)
        _sta_pkg_installed libmosquitto-dev || need+=(libmosquitto-dev)
        _sta_pkg_installed libssl-dev || need+=(libssl-dev)
        command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
    fi
    command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)  # GeoJSON output is checked with GDAL
    # the GUI's browser tests drive Debian's chromium through Playwright (no browser download here)
    [[ -x /usr/bin/chromium ]] || need+=(chromium)
    ((${#need[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 \
        || { sta_die "missing packages (${need[*]}) and no apt-get: install them by hand"; return 1; }
    sta_log "installing missing packages: ${need[*]}"
    sta_lock apt || return 1
    local rc=0
    {
        sta_nolocks _sta_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null \
            && sta_nolocks _sta_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                "${need[@]}" </dev/null
    } >&2 || rc=$?
    sta_unlock apt
    ((rc == 0)) || { sta_die "apt-get install ${need[*]} failed"; return 1; }
}

# --- PostgreSQL -----------------------------------------------------------------------------

_sta_pg_running() {  # is the project cluster running?
    [[ -f "$STA_PG_DATA/postmaster.pid" ]] || return 1
    _sta_as_pg "$STA_PG_BIN/pg_ctl" -D "$STA_PG_DATA" status >/dev/null 2>&1
}

_sta_pg_running_port() { sed -n 4p "$STA_PG_DATA/postmaster.pid" 2>/dev/null; }

_sta_pg_write_conf() {
    local port="$1" sockdir="$STA_PG_DIR"
    # unix socket paths are limited to ~107 bytes; fall back to TCP only when too long
    if ((${#sockdir} + 20 > 100)); then
        sta_log "note: $sockdir is too long for a unix socket; TCP only"
        sockdir=""
    fi
    cat >"$STA_PG_DATA/sta.conf" <<EOF
# Generated by scripts/services.sh on every start -- edit there, not here.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 300  # the test suite runs dozens of servers (each up to 20 per process) side by side

# sized for a small (2 core) development / CI box
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 16MB
maintenance_work_mem = 128MB
max_wal_size = 1GB
checkpoint_completion_target = 0.9
random_page_cost = 1.1
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
fsync = on
synchronous_commit = on

timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
EOF
    chown "$(_sta_pg_user)" "$STA_PG_DATA/sta.conf"
    if ! grep -q "^include_if_exists = 'sta.conf'" "$STA_PG_DATA/postgresql.conf"; then
        printf "\n# project settings (scripts/services.sh)\ninclude_if_exists = 'sta.conf'\n" \
            >>"$STA_PG_DATA/postgresql.conf"
    fi
}

_sta_psql() {  # psql against the project cluster as postgres: _sta_psql DB args...
    local db="$1"
    shift
    "$STA_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$STA_PG_PORT_EFFECTIVE" -U postgres -d "$db" "$@"
}

_sta_start_postgres_locked() {
    local port="${STA_PG_PORT:-55432}" pguser running_port
    pguser="$(_sta_pg_user)"
    [[ -x "$STA_PG_BIN/initdb" ]] \
        || { sta_die "$STA_PG_BIN/initdb not found (run ensure_packages)"; return 1; }
    if _sta_is_root; then
        _sta_ensure_user postgres /var/lib/postgresql || return 1
    fi

    mkdir -p "$STA_PG_DIR" || return 1
    chown "$pguser:" "$STA_PG_DIR" && chmod 0755 "$STA_PG_DIR" || return 1
    _sta_grant_traverse "$pguser" "$STA_PG_DIR" || return 1

    if _sta_pg_running; then
        running_port="$(_sta_pg_running_port)"
        if [[ "$running_port" != "$port" ]]; then
            sta_die "the project cluster is already running on port $running_port (STA_PG_PORT=$port): run stop_services first"
            return 1
        fi
        sta_log "PostgreSQL: reusing the running project cluster ($STA_PG_DATA, port $port)"
    else
        if [[ ! -f "$STA_PG_DATA/PG_VERSION" ]]; then
            sta_log "PostgreSQL: initdb $STA_PG_DATA"
            rm -rf "$STA_PG_DATA"
            _sta_as_pg "$STA_PG_BIN/initdb" -D "$STA_PG_DATA" -U postgres --auth=trust -E UTF8 \
                --locale=C.UTF-8 >"$STA_PG_DIR/initdb.log" 2>&1 \
                || { cat "$STA_PG_DIR/initdb.log" >&2; sta_die "initdb failed"; return 1; }
        fi
        if _sta_port_busy "$port"; then
            sta_die "port $port is already in use by another process: set STA_PG_PORT to a free port"
            return 1
        fi
        _sta_pg_write_conf "$port" || return 1
        sta_log "PostgreSQL: starting the project cluster on 127.0.0.1:$port (log $STA_PG_LOG)"
        if ! _sta_as_pg "$STA_PG_BIN/pg_ctl" -D "$STA_PG_DATA" -l "$STA_PG_LOG" -w -t 60 start >/dev/null; then
            tail -n 30 "$STA_PG_LOG" >&2
            sta_die "pg_ctl start failed (see $STA_PG_LOG)"
            return 1
        fi
    fi

    STA_PG_PORT_EFFECTIVE="$port"
    if [[ "$(_sta_psql postgres -tAc "select 1 from pg_database where datname = 'sta'")" != "1" ]]; then
        sta_log "PostgreSQL: creating database sta"
        _sta_psql postgres -c 'CREATE DATABASE sta' >/dev/null || { sta_die "CREATE DATABASE sta failed"; return 1; }
    fi
    if [[ "$(_sta_psql postgres -tAc "select 1 from pg_available_extensions where name = 'postgis'")" != "1" ]]; then
        sta_die "PostGIS is not available in the project cluster (install postgresql-$STA_PG_VERSION-postgis-3)"
        return 1
    fi

    STA_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/sta"
    _STA_LOCAL_DATABASE_URL="$STA_DATABASE_URL"
    export STA_DATABASE_URL _STA_LOCAL_DATABASE_URL
}

start_postgres() {
    local ext rc=0
    ext="$(_sta_external_db_url)"
    if [[ -n "$ext" ]]; then
        STA_DATABASE_URL="$(_sta_sqlalchemy_url "$ext")"
        export STA_DATABASE_URL
        sta_log "PostgreSQL: using the configured database $(sta_redact_url "$STA_DATABASE_URL")"
        if command -v psql >/dev/null 2>&1 \
            && ! PGCONNECT_TIMEOUT=5 psql -X -tAc "select 1 from pg_available_extensions where name = 'postgis'" \
                "$(_sta_libpq_url "$STA_DATABASE_URL")" 2>/dev/null | grep -q 1; then
            sta_log "warning: could not confirm that PostGIS is available on that server"
        fi
        return 0
    fi
    sta_lock pg || return 1
    _sta_start_postgres_locked || rc=$?
    sta_unlock pg
    return "$rc"
}

stop_postgres() {
    if _sta_pg_running; then
        sta_log "PostgreSQL: stopping the project cluster ($STA_PG_DATA)"
        _sta_as_pg "$STA_PG_BIN/pg_ctl" -D "$STA_PG_DATA" -m fast -w -t 60 stop >/dev/null || return 1
    fi
    if [[ "${STA_DATABASE_URL:-}" == "${_STA_LOCAL_DATABASE_URL:-}" ]]; then
        unset STA_DATABASE_URL
    fi
    unset _STA_LOCAL_DATABASE_URL
}

# --- Mosquitto ------------------------------------------------------------------------------

_sta_mosquitto_bin() { command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto; }

_sta_mqtt_pid() {  # pid of the project broker, if it is running
    local pid
    pid="$(cat "$STA_MQTT_PID" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    # it must be a mosquitto started with our config file (pids get reused)
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STA_MQTT_CONF" || return 1
    echo "$pid"
}

_sta_mqtt_write_conf() {  # write the config to $1
    local port="$1" out="$2" user_line=""
    if _sta_is_root; then
        user_line="user mosquitto"
    fi
    cat >"$out" <<EOF
# Generated by scripts/services.sh -- edit there, not here.
# Project-local broker of the SensorThings server (the system broker on 1883 is not used).
$user_line
pid_file $STA_MQTT_PID

listener $port 127.0.0.1
# Users and ACL: the server writes passwd and acl from its user store (docs/security.md), starting
# from passwd.base and acl.base (its own user, password in $STA_MQTT_DIR/server.secret, alone
# reads \$SYS/broker/log/#, the feed of who subscribes to what). STA_AUTH=off: anyone may use
# the SensorThings topics without a password.
allow_anonymous $(_sta_mqtt_anonymous)
password_file $STA_MQTT_DIR/passwd
acl_file $STA_MQTT_DIR/acl
# broker_plugin/sta_identity.c: stamps each PUBLISH with its authenticated user (user property
# sta-publisher, STA_MQTT_IDENTITY=broker), admits a client id only when it is the user name or
# starts with '<user>:', refuses unknown user names after the same PBKDF2 as a wrong password
plugin $STA_MQTT_PLUGIN
plugin_opt_password_file $STA_MQTT_DIR/passwd
plugin_opt_acl_file $STA_MQTT_DIR/acl
# rewritten after each reload (SIGHUP): the server waits for it after changing passwd/acl
plugin_opt_reload_file $STA_MQTT_DIR/reloaded
# the HMAC key of the stamp (user property sta-stamp) that makes sta-publisher unforgeable
plugin_opt_stamp_secret_file $STA_MQTT_DIR/stamp.secret
# the only user whose messages may carry sta-origin (the server's notifications)
plugin_opt_server_user sta-server

persistence true
persistence_location $STA_MQTT_DIR/data/
# a broker crash loses what came since the last save (a clean stop saves everything); a save of
# 100,000 queued messages takes about 0.1 s (docs/reliability.md, "The broker's queue")
autosave_interval 10
# forget persistent sessions of clients that stay away (test runs create many)
persistent_client_expiration 1d
# the backlog the broker holds for the server's session while the database is slow or down:
# beyond either bound it drops messages it has acknowledged. 1,000,000 small creates take about
# 550 MB of broker memory; at 1,000 creates/s that is 16 minutes of outage. The server raises an
# alarm at half of either (STA_MQTT_BROKER_QUEUE_MESSAGES / _BYTES must match these).
max_queued_messages ${STA_MQTT_BROKER_QUEUE_MESSAGES:-1000000}
max_queued_bytes ${STA_MQTT_BROKER_QUEUE_BYTES:-268435456}
# \$SYS counters (queue size, drops) every 10 s: the server's alarm reads them
sys_interval 10
# hostile input (docs/limits.md): larger packets disconnect their sender; the server's own limit on
# creates is STA_MQTT_MAX_MESSAGE_BYTES, this leaves room for notifications of any entity
max_packet_size $(( ${STA_MAX_BODY_BYTES:-16777216} + 1048576 ))

log_dest file $STA_MQTT_LOG
log_dest topic
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
log_type unsubscribe
log_timestamp_format %Y-%m-%dT%H:%M:%S
connection_messages true
EOF
    _sta_mqtt_ws_conf >>"$out"
    _sta_mqtt_tls_conf >>"$out"
}

# WebSockets listener for browsers (the GUI's live values, docs/gui.md) on ${STA_MQTT_WS_PORT:-18831}:
# the same users, ACL and plugin as the plain listener (settings are global, not per listener).
# STA_MQTT_WS_PORT=0 leaves it out.
_sta_mqtt_ws_port() {
    local port="${STA_MQTT_WS_PORT:-18831}"
    [[ "$port" =~ ^[0-9]+$ ]] || { sta_die "STA_MQTT_WS_PORT must be a port number (0: no listener)"; return 1; }
    echo "$port"
}

_sta_mqtt_ws_conf() {
    local port
    port="$(_sta_mqtt_ws_port)" || return 1
    ((port > 0)) || return 0
    printf '\n# MQTT over WebSockets for browsers (scripts/services.sh, docs/gui.md)\nlistener %s 127.0.0.1\nprotocol websockets\n' \
        "$port"
}

# TLS listeners (docs/tls.md), when STA_MQTT_TLS_CERT_FILE and STA_MQTT_TLS_KEY_FILE are set:
# ${STA_MQTT_TLS_PORT:-18883} with the server certificate (clients log in as on the plain port) and,
# with STA_MQTT_TLS_CA_FILE, ${STA_MQTT_TLS_CLIENT_PORT:-18884} where a client certificate signed by
# that CA is required, its CN is the user name and STA_MQTT_TLS_CRL_FILE (if set) is checked.
# Files are used in place (kill -HUP the broker after replacing the CRL or a certificate).
_sta_mqtt_tls_conf() {
    [[ -n "${STA_MQTT_TLS_CERT_FILE:-}" ]] || return 0
    local host="${STA_MQTT_TLS_HOST:-127.0.0.1}" files
    files="certfile $STA_MQTT_TLS_CERT_FILE
keyfile $STA_MQTT_TLS_KEY_FILE"
    if [[ -n "${STA_MQTT_TLS_CA_FILE:-}" ]]; then
        files="cafile $STA_MQTT_TLS_CA_FILE
$files"
    fi
    printf '\n# TLS: server certificate (scripts/services.sh, docs/tls.md)\nlistener %s %s\n%s\n' \
        "${STA_MQTT_TLS_PORT:-18883}" "$host" "$files"
    [[ -n "${STA_MQTT_TLS_CA_FILE:-}" ]] || return 0
    printf '\n# TLS with client certificates (device agents): CN = user name\nlistener %s %s\n%s\n' \
        "${STA_MQTT_TLS_CLIENT_PORT:-18884}" "$host" "$files"
    # the plugin's client id check does not run for certificates: the id is the CN (user name)
    printf 'require_certificate true\nuse_identity_as_username true\nuse_username_as_clientid true\n'
    if [[ -n "${STA_MQTT_TLS_CRL_FILE:-}" ]]; then
        printf 'crlfile %s\n' "$STA_MQTT_TLS_CRL_FILE"
    fi
}

_sta_mqtt_check_tls() {  # the TLS files exist and the broker's user can read them
    local name path
    [[ -n "${STA_MQTT_TLS_CERT_FILE:-}${STA_MQTT_TLS_KEY_FILE:-}" ]] || return 0
    [[ -n "${STA_MQTT_TLS_CERT_FILE:-}" && -n "${STA_MQTT_TLS_KEY_FILE:-}" ]] \
        || { sta_die "STA_MQTT_TLS_CERT_FILE and STA_MQTT_TLS_KEY_FILE go together"; return 1; }
    for name in STA_MQTT_TLS_CERT_FILE STA_MQTT_TLS_KEY_FILE STA_MQTT_TLS_CA_FILE STA_MQTT_TLS_CRL_FILE; do
        path="${!name:-}"
        [[ -n "$path" ]] || continue
        [[ "$path" == /* ]] || { sta_die "$name must be an absolute path"; return 1; }
        [[ -f "$path" ]] || { sta_die "$name: no such file $path"; return 1; }
        if _sta_is_root && ! runuser -u mosquitto -- test -r "$path" 2>/dev/null; then
            sta_die "$name: the mosquitto user cannot read $path"
            return 1
        fi
    done
    if [[ -n "${STA_MQTT_TLS_CRL_FILE:-}" && -z "${STA_MQTT_TLS_CA_FILE:-}" ]]; then
        sta_die "STA_MQTT_TLS_CRL_FILE needs STA_MQTT_TLS_CA_FILE (client certificates)"
        return 1
    fi
}

_sta_auth_on() { [[ ! "${STA_AUTH:-on}" =~ ^(off|false|0|no)$ ]]; }

_sta_mqtt_anonymous() {  # anonymous clients: without authentication, or for public reads
    if ! _sta_auth_on || [[ "${STA_ANONYMOUS:-off}" == public ]]; then echo true; else echo false; fi
}

_sta_mqtt_write_auth() {  # the server user's password (kept across runs), base password file and ACL
    local secret="$STA_MQTT_DIR/server.secret"
    if [[ ! -s "$secret" ]]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret") || return 1
    fi
    rm -f "$STA_MQTT_DIR/passwd.base"
    (umask 077 && mosquitto_passwd -b -c "$STA_MQTT_DIR/passwd.base" sta-server "$(cat "$secret")") \
        >/dev/null || { sta_die "mosquitto_passwd failed"; return 1; }
    if _sta_auth_on; then  # the server's own rules; the users' come from the server (sta-admin broker sync)
        sed -n '/^user sta-server/,$p' "$ROOT/scripts/mosquitto.acl" >"$STA_MQTT_DIR/acl.base" || return 1
    else
        cp "$ROOT/scripts/mosquitto.acl" "$STA_MQTT_DIR/acl.base" || return 1
    fi
    # the broker plugin's HMAC key for the publisher stamp (kept across runs; the server reads it
    # from STA_MQTT_AUTH_DIR: security/publisher_stamp.py)
    if [[ ! -s "$STA_MQTT_DIR/stamp.secret" ]]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STA_MQTT_DIR/stamp.secret" \
            && echo >>"$STA_MQTT_DIR/stamp.secret") || return 1
    fi
    chmod 0600 "$STA_MQTT_DIR/stamp.secret" || return 1
    # the base files alone until the server (or `sta-admin broker sync`) adds its users; neither
    # is world-readable (the server keeps each file's mode and owner when it rewrites them)
    cp -p "$STA_MQTT_DIR/passwd.base" "$STA_MQTT_DIR/passwd" && cp "$STA_MQTT_DIR/acl.base" "$STA_MQTT_DIR/acl" \
        && chmod 0600 "$STA_MQTT_DIR/passwd" "$STA_MQTT_DIR/passwd.base" \
        && chmod 0640 "$STA_MQTT_DIR/acl" "$STA_MQTT_DIR/acl.base"
}

_sta_mqtt_build_plugin() {  # broker_plugin/sta_identity.c -> $STA_MQTT_PLUGIN, when missing or older
    [[ -f "$STA_MQTT_PLUGIN" && "$STA_MQTT_PLUGIN" -nt "$STA_MQTT_PLUGIN_SRC" ]] && return 0
    [[ -f /usr/include/mosquitto_broker.h ]] || { sta_die "mosquitto-dev is missing (run ensure_packages)"; return 1; }
    sta_log "Mosquitto: building the broker plugin $STA_MQTT_PLUGIN"
    gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$STA_MQTT_PLUGIN.tmp" "$STA_MQTT_PLUGIN_SRC" -lcrypto \
        || { sta_die "building $STA_MQTT_PLUGIN_SRC failed"; return 1; }
    chmod 0755 "$STA_MQTT_PLUGIN.tmp" && mv -f "$STA_MQTT_PLUGIN.tmp" "$STA_MQTT_PLUGIN" \
        && plugin_built=1  # a running broker must be restarted to load it (the caller's local)
}

_sta_start_mosquitto_locked() {
    local port="${STA_MQTT_PORT:-18830}" bin pid tmp mquser
    bin="$(_sta_mosquitto_bin)"
    [[ -x "$bin" ]] || { sta_die "mosquitto not found (run ensure_packages)"; return 1; }

    mkdir -p "$STA_MQTT_DIR/data" || return 1
    if _sta_is_root; then
        # mosquitto started as root drops privileges to `mosquitto`, which must be able to
        # write the persistence dir, log and pid file (and read the config on reload).
        mquser=mosquitto
        _sta_ensure_user mosquitto /var/lib/mosquitto || return 1
        chown -R mosquitto: "$STA_MQTT_DIR" || return 1
        _sta_grant_traverse mosquitto "$STA_MQTT_DIR" || return 1
    fi

    _sta_mqtt_check_tls || return 1
    _sta_mqtt_ws_port >/dev/null || return 1
    local plugin_built=""
    _sta_mqtt_build_plugin || return 1
    _sta_mqtt_write_auth || return 1
    [[ -n "${mquser:-}" ]] && chown "$mquser:" "$STA_MQTT_DIR/passwd" "$STA_MQTT_DIR/acl" \
        "$STA_MQTT_DIR/passwd.base" "$STA_MQTT_DIR/acl.base" "$STA_MQTT_DIR/stamp.secret"
    tmp="$(mktemp "$STA_MQTT_DIR/.conf.XXXXXX")" || return 1
    _sta_mqtt_write_conf "$port" "$tmp"
    chmod 0644 "$tmp"

    if pid="$(_sta_mqtt_pid)"; then
        if cmp -s "$tmp" "$STA_MQTT_CONF" && [[ -z "$plugin_built" ]]; then
            rm -f "$tmp"
            sta_log "Mosquitto: reusing the running project broker (pid $pid, port $port)"
            _sta_mqtt_export "$port"
            return 0
        fi
        sta_log "Mosquitto: configuration or plugin changed, restarting the project broker"
        _sta_stop_mosquitto_pid "$pid" || { rm -f "$tmp"; return 1; }
    fi
    mv -f "$tmp" "$STA_MQTT_CONF" || return 1
    [[ -n "${mquser:-}" ]] && chown "$mquser:" "$STA_MQTT_CONF"

    if _sta_port_busy "$port"; then
        sta_die "port $port is already in use by another process: set STA_MQTT_PORT to a free port"
        return 1
    fi
    sta_log "Mosquitto: starting the project broker on 127.0.0.1:$port (log $STA_MQTT_LOG)"
    rm -f "$STA_MQTT_PID"
    if ! sta_nolocks "$bin" -d -c "$STA_MQTT_CONF" </dev/null >>"$STA_MQTT_DIR/stderr.log" 2>&1; then
        tail -n 20 "$STA_MQTT_DIR/stderr.log" "$STA_MQTT_LOG" >&2 2>/dev/null
        sta_die "mosquitto failed to start"
        return 1
    fi
    if ! _sta_wait_port "$port" 15; then
        tail -n 20 "$STA_MQTT_DIR/stderr.log" "$STA_MQTT_LOG" >&2 2>/dev/null
        sta_die "mosquitto does not accept connections on 127.0.0.1:$port"
        return 1
    fi
    # shellcheck disable=SC2016  # $SYS is an MQTT topic, not a variable
    if command -v mosquitto_sub >/dev/null 2>&1 \
        && ! mosquitto_sub -h 127.0.0.1 -p "$port" -i "sta-server:check-$$" -u sta-server \
            -P "$(cat "$STA_MQTT_DIR/server.secret")" \
            -t '$SYS/broker/version' -C 1 -W 5 >/dev/null 2>&1; then
        sta_die "mosquitto on 127.0.0.1:$port does not answer MQTT"
        return 1
    fi
    _sta_mqtt_export "$port"
}

_sta_mqtt_export() {
    STA_MQTT_URL="mqtt://sta-server:$(cat "$STA_MQTT_DIR/server.secret")@127.0.0.1:$1"
    _STA_LOCAL_MQTT_URL="$STA_MQTT_URL"
    STA_MQTT_AUTH_DIR="$STA_MQTT_DIR"  # the server keeps passwd/acl there (security/broker_files.py)
    STA_MQTT_IDENTITY=broker  # the plugin names each publisher (security/mqtt_identity.py)
    local ws_port
    ws_port="$(_sta_mqtt_ws_port)" || return 1
    STA_MQTT_WS_URL=""
    ((ws_port > 0)) && STA_MQTT_WS_URL="ws://127.0.0.1:$ws_port"  # the GUI's GUI_MQTT_WS_URL
    export STA_MQTT_URL _STA_LOCAL_MQTT_URL STA_MQTT_AUTH_DIR STA_MQTT_IDENTITY STA_MQTT_WS_URL
}

start_mosquitto() {
    local ext rc=0
    ext="$(_sta_external_mqtt_url)"
    if [[ -n "$ext" ]]; then
        STA_MQTT_URL="$ext"
        export STA_MQTT_URL
        case "${ext,,}" in
            off | none) sta_log "MQTT: disabled (STA_MQTT_URL=$ext)" ;;
            *) sta_log "Mosquitto: using the configured broker $(sta_redact_url "$STA_MQTT_URL")" ;;
        esac
        return 0
    fi
    sta_lock mqtt || return 1
    _sta_start_mosquitto_locked || rc=$?
    sta_unlock mqtt
    return "$rc"
}

_sta_stop_mosquitto_pid() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    sta_log "Mosquitto: pid $pid did not stop after 10s, killing it"
    kill -KILL "$pid" 2>/dev/null
    return 0
}

stop_mosquitto() {
    local pid
    if pid="$(_sta_mqtt_pid)"; then
        sta_log "Mosquitto: stopping the project broker (pid $pid)"
        _sta_stop_mosquitto_pid "$pid"
    fi
    rm -f "$STA_MQTT_PID"
    if [[ "${STA_MQTT_URL:-}" == "${_STA_LOCAL_MQTT_URL:-}" ]]; then
        unset STA_MQTT_URL
    fi
    unset _STA_LOCAL_MQTT_URL
}

# --- both -----------------------------------------------------------------------------------

start_services() {
    ensure_packages && start_postgres && start_mosquitto
}

stop_services() {
    local rc=0
    stop_mosquitto || rc=1
    stop_postgres || rc=1
    return "$rc"
}
