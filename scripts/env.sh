# shellcheck shell=bash
# Sourced by the other scripts (run.sh, test.sh): resolves the project root,
# the run directory and creates/updates the virtualenv.
#
#   source scripts/env.sh      # sets ROOT, RUN_DIR, VENV, PATH; returns non-zero on failure
#
# Not meant to be executed directly.  Does not change the caller's shell options.

if [[ -n "${_STA_ENV_SOURCED:-}" && "${_STA_ENV_ROOT:-}" == "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)" ]]; then
    # Already sourced in this shell: only make sure the venv is up to date.
    sta_ensure_venv
    return $?
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
RUN_DIR="$ROOT/.run"
VENV="$ROOT/.venv"
export ROOT RUN_DIR VENV
_STA_ENV_SOURCED=1
_STA_ENV_ROOT="$ROOT"

sta_log() { printf '[sta] %s\n' "$*" >&2; }
sta_die() { printf '[sta] ERROR: %s\n' "$*" >&2; return 1; }

# --- locking: serialises venv/service setup between concurrent run.sh / test.sh ------------
# sta_lock NAME / sta_unlock NAME  (no-op when flock(1) is unavailable)
declare -gA _STA_LOCK_FDS=()
sta_lock() {
    local name="$1" fd
    command -v flock >/dev/null 2>&1 || return 0
    mkdir -p "$RUN_DIR" || return 1
    exec {fd}>"$RUN_DIR/.lock-$name" || return 1
    if ! flock -w 600 "$fd"; then
        exec {fd}>&-
        sta_die "timed out waiting for lock $RUN_DIR/.lock-$name"
        return 1
    fi
    _STA_LOCK_FDS[$name]=$fd
}
# Run a command without the lock fds: daemons started under a lock (postgres, mosquitto,
# services started by apt) would otherwise inherit the fd and hold the lock forever.
sta_nolocks() {
    (
        local fd
        for fd in "${_STA_LOCK_FDS[@]}"; do
            exec {fd}>&-
        done
        "$@"
    )
}
sta_unlock() {
    local name="$1" fd="${_STA_LOCK_FDS[$1]:-}"
    [[ -n "$fd" ]] || return 0
    exec {fd}>&-
    unset '_STA_LOCK_FDS[$name]'
}

# --- python / virtualenv ------------------------------------------------------------------
_sta_python_ok() {  # is $1 a Python >= 3.11 ?
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

sta_find_python() {
    local cand
    for cand in "${STA_PYTHON:-}" python3.11 python3; do
        [[ -n "$cand" ]] || continue
        if command -v "$cand" >/dev/null 2>&1 && _sta_python_ok "$cand"; then
            command -v "$cand"
            return 0
        fi
    done
    sta_die "no Python >= 3.11 found (tried python3.11, python3; set STA_PYTHON=/path/to/python)"
}

_sta_pyproject_hash() {
    # The stamp covers pyproject.toml and the interpreter of the venv.
    { cat "$ROOT/pyproject.toml"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } \
        | sha256sum | cut -d' ' -f1
}

_sta_ensure_venv_locked() {
    local py stamp="$VENV/.sta-pyproject.sha256" want have
    if [[ ! -x "$VENV/bin/python" ]] || ! _sta_python_ok "$VENV/bin/python" \
        || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        py="$(sta_find_python)" || return 1
        sta_log "creating virtualenv $VENV with $py ($("$py" --version 2>&1))"
        rm -rf "$VENV"
        "$py" -m venv "$VENV" || { sta_die "python -m venv failed"; return 1; }
    fi
    want="$(_sta_pyproject_hash)"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [[ "$want" != "$have" ]]; then
        sta_log "installing the project into $VENV (pip install -e '.[test,iec61850,scada]')"
        rm -f "$stamp"
        mkdir -p "$RUN_DIR" || return 1
        if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
            "$VENV/bin/python" -m pip install -e "${ROOT}[test,iec61850,scada]" </dev/null >"$RUN_DIR/pip-install.log" 2>&1; then
            tail -n 40 "$RUN_DIR/pip-install.log" >&2
            sta_die "pip install -e '${ROOT}[test,iec61850,scada]' failed (full log: $RUN_DIR/pip-install.log)"
            return 1
        fi
        printf '%s\n' "$want" >"$stamp"
    fi
}

sta_ensure_venv() {
    local rc=0
    [[ -f "$ROOT/pyproject.toml" ]] || { sta_die "$ROOT/pyproject.toml not found"; return 1; }
    sta_lock venv || return 1
    _sta_ensure_venv_locked || rc=$?
    sta_unlock venv
    return "$rc"
}

sta_ensure_venv || return 1

export VIRTUAL_ENV="$VENV"
case ":$PATH:" in
    *":$VENV/bin:"*) ;;
    *) export PATH="$VENV/bin:$PATH" ;;
esac
