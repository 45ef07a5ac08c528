#!/usr/bin/env bash
# Runs the platform: virtualenv, system packages (PostgreSQL 15 + PostGIS, Mosquitto) when
# missing, the project-local cluster and broker, database migrations, then the HTTP server and,
# by default, the simulated district (`python -m district run`, docs/district.md): each site's
# field process and emulators on an accelerated clock, the forecasts, controllers, simulation and GUIs.
#
#   bash scripts/run.sh                 # the platform with the simulated district
#   bash scripts/run.sh --no-district   # the platform alone: field boxes connect from outside (also S4G_DISTRICT=off)
#   bash scripts/run.sh --report 2h     # a fixed simulated period, then the KPI and invariant report (exit 1 if one fails)
#   bash scripts/run.sh --server-only   # the SensorThings server alone, as before the district
#
# See README.md for the environment variables.
set -euo pipefail

mode="${S4G_DISTRICT:-on}"
report_period=""
case "${1:-}" in
    "") ;;
    --no-district) mode=off ;;
    --server-only) mode=server ;;
    --report)
        [[ -n "${2:-}" ]] || { echo "usage: bash scripts/run.sh [--no-district | --server-only | --report PERIOD]" >&2; exit 2; }
        mode=report
        report_period="$2"
        ;;
    *) echo "usage: bash scripts/run.sh [--no-district | --server-only | --report PERIOD]" >&2; exit 2 ;;
esac

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
    # the list is read whole before it is searched: `grep -q` leaving early broke sta-admin's pipe
    # (BrokenPipeError under pipefail) once the district's users made the list long, and the second
    # run then tried to create `admin` again and stopped
    users="$("$VENV/bin/sta-admin" user list)" || { sta_die "could not list the users"; exit 1; }
    if ! grep -q '"role": "admin"' <<<"$users"; then
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
[[ "$mode" != server ]] || exec "$VENV/bin/sta-server"

# The orchestrator (district/) starts the server as its supervised child, then the rest; its children
# log in as clients: the API, the broker without the server's own login, an administrator for
# commissioning (each field process gets a device_agent user of its own).
export STA_CLIENT_BASE_URL="${STA_CLIENT_BASE_URL:-http://127.0.0.1:$port/v1.1}"
if [[ -n "${STA_CLIENT_MQTT_URL:-}" ]]; then
    :
elif [[ "$STA_MQTT_URL" == "${_STA_LOCAL_MQTT_URL:-}" ]]; then
    export STA_CLIENT_MQTT_URL="mqtt://127.0.0.1:${STA_MQTT_PORT:-18830}"
else
    STA_CLIENT_MQTT_URL="$(printf '%s\n' "$STA_MQTT_URL" | sed -E 's#(://)[^@/]*@#\1#')"
    export STA_CLIENT_MQTT_URL
fi
if _sta_auth_on && [[ -z "${STA_CLIENT_USERNAME:-}${STA_CLIENT_TOKEN:-}" ]]; then
    export STA_CLIENT_USERNAME=admin STA_CLIENT_PASSWORD_FILE="$admin_secret"
fi
export DISTRICT_ADMIN_NOTE="$admin_note"
case "$mode" in
    off) exec "$VENV/bin/python" -m district run --server --no-district ;;
    report) exec "$VENV/bin/python" -m district report --server --period "$report_period" ;;
    *) exec "$VENV/bin/python" -m district run --server ;;
esac
