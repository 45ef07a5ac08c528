#!/usr/bin/env bash
# The whole test suite: virtualenv + services (as scripts/run.sh), then ruff, mypy, the import
# contract (lint-imports, [tool.importlinter] in pyproject.toml) and pytest.
#
#   bash scripts/test.sh [pytest args...]
#
# The services stay up afterwards (fast re-runs) unless STA_STOP_SERVICES=1 or CI=true.
# STA_SKIP_LINT=1 skips ruff, mypy and lint-imports (quick iterations on a few tests).
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/services.sh
source "$ROOT/scripts/services.sh"

if [[ "${STA_STOP_SERVICES:-0}" == 1 || "${CI:-}" == true ]]; then
    trap 'stop_services || true' EXIT
fi

ensure_packages
start_postgres
start_mosquitto
sta_log "database $(sta_redact_url "$STA_DATABASE_URL"), broker $(sta_redact_url "$STA_MQTT_URL")"

cd "$ROOT"
failed=()

if [[ "${STA_SKIP_LINT:-0}" != 1 ]]; then
    sta_log "ruff check"
    "$VENV/bin/ruff" check sta_server sta_client clock adapters agents controllers planning tests bench || failed+=(ruff)

    sta_log "mypy"
    "$VENV/bin/mypy" || failed+=(mypy)

    sta_log "lint-imports (the layers of STYLE.md, no import cycles)"
    "$VENV/bin/lint-imports" --no-logo --no-cache || failed+=(lint-imports)
fi

sta_log "pytest $*"
pytest_rc=0
"$VENV/bin/pytest" "$@" || pytest_rc=$?
case "$pytest_rc" in
    0) ;;
    5) sta_log "pytest collected no tests: that is a failure"; failed+=("pytest (no tests collected)") ;;
    *) failed+=("pytest (exit $pytest_rc)") ;;
esac

if ((${#failed[@]})); then
    sta_log "FAILED: ${failed[*]}"
    exit 1
fi
sta_log "all checks passed"
