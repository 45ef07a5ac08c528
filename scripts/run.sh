#!/usr/bin/env bash
# Runs the platform: virtualenv, system packages (PostgreSQL 15 + PostGIS, Mosquitto) when
# missing, the project-local cluster and broker, database migrations, then the HTTP server.
#
#   bash scripts/run.sh
#
# See README.md for the environment variables.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/services.sh
source "$ROOT/scripts/services.sh"

ensure_packages
start_postgres
start_mosquitto

cd "$ROOT"
[[ -f "$ROOT/alembic.ini" ]] || { sta_die "$ROOT/alembic.ini not found"; exit 1; }
sta_log "migrating $(sta_redact_url "$STA_DATABASE_URL") (alembic upgrade head)"
"$VENV/bin/alembic" -c "$ROOT/alembic.ini" upgrade head

# Authentication is on unless STA_AUTH=off: the first run creates the user `admin` with a random
# password kept in $RUN_DIR/admin.secret (more users: `sta-admin user add`, docs/security.md).
admin_note="authentication off (STA_AUTH=off)"
if _sta_auth_on; then
    admin_secret="$RUN_DIR/admin.secret"
    if ! "$VENV/bin/sta-admin" user list | grep -q '"role": "admin"'; then
        [[ -s "$admin_secret" ]] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$admin_secret")
        "$VENV/bin/sta-admin" user add admin --role admin --password-file "$admin_secret" >/dev/null \
            || { sta_die "could not create the admin user"; exit 1; }
        sta_log "created the user 'admin'; its password is in $admin_secret"
    fi
    admin_note="user admin, password in $admin_secret (if not changed since)"
    [[ -z "${STA_MQTT_AUTH_DIR:-}" ]] || "$VENV/bin/sta-admin" broker sync
fi

host="${STA_HTTP_HOST:-127.0.0.1}"
port="${STA_HTTP_PORT:-8080}"
scheme=http
[[ -z "${STA_TLS_CERT_FILE:-}" ]] || scheme=https  # HTTPS (docs/tls.md)
root_url="${STA_SERVICE_ROOT_URL:-$scheme://$host:$port}"
{
    echo
    echo "  SensorThings API : ${root_url%/}/v1.1   (listening on $host:$port)"
    echo "  database         : $(sta_redact_url "$STA_DATABASE_URL")"
    echo "  MQTT broker      : $(sta_redact_url "$STA_MQTT_URL")"
    echo "  run dir          : $RUN_DIR"
    echo "  credentials      : $admin_note"
    echo "  stop services    : bash -c 'source scripts/env.sh && source scripts/services.sh && stop_services'"
    echo
} >&2

# The platform runs multi-process by default: HTTP workers (each with its own MQTT notifier) and
# one MQTT ingest process; STA_HTTP_WORKERS=1 runs everything in one process.
export STA_HTTP_WORKERS="${STA_HTTP_WORKERS:-2}"
exec "$VENV/bin/sta-server"
