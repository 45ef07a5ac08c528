#!/usr/bin/env bash
# The comparison server of bench/write_paths.py: istSOS4 (github istSOS/istSOS4; not part of this
# repository), from a checkout in $ISTSOS4_DIR (default /work/istsos4) with its own virtualenv:
#   git clone https://github.com/istSOS/istSOS4 /work/istsos4   (the bench used 4924510)
#   python3.11 -m venv /work/istsos4/.venv && /work/istsos4/.venv/bin/pip install -r /work/istsos4/api/requirements.txt
# Given PORT, PGHOST, PGPORT, PGUSER and an empty database PGDATABASE (the bench makes them), it sets
# up istSOS4's schema there — without TimescaleDB, which the project cluster lacks (Observation is
# then a plain table), its roles created only when missing — and serves it with ISTSOS4_WORKERS uvicorn
# workers (default 1, as in the earlier runs; istSOS4's own docker-compose.yml runs 2, with a 75 s
# keep-alive), authorization, versioning and network off.
set -euo pipefail
DIR="${ISTSOS4_DIR:-/work/istsos4}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE")
if [[ "$("${PSQL[@]}" -tAc "select to_regclass('sensorthings.\"Thing\"') is not null")" != "t" ]]; then
    schema="$(mktemp)"
    "$DIR/.venv/bin/python" - "$DIR/database/istsos_schema.sql" >"$schema" <<'PY'
import re, sys
sql = open(sys.argv[1]).read().replace("CREATE EXTENSION IF NOT EXISTS timescaledb;", "")
sql = re.sub(r"SELECT create_hypertable\(.*?\);", "", sql, flags=re.S)
sql = sql.replace('CREATE ROLE "administrator" WITH CREATEROLE;', 'DO $$ BEGIN CREATE ROLE "administrator" '
                  'WITH CREATEROLE; EXCEPTION WHEN duplicate_object THEN NULL; END $$;')
head, sep, tail = sql.rpartition("'CREATE USER %I")
print(head + sep + tail.replace("    );\nEND $$;", "    );\nEXCEPTION WHEN duplicate_object THEN NULL;\nEND $$;", 1))
PY
    for setting in "network = '0'" "versioning = '0'" "\"authorization\" = '0'" "duplicates = '0'" "epsg = '4326'" \
                   "\"user\" = 'istsos_admin'" "password = 'istsos'"; do
        "${PSQL[@]}" -c "ALTER DATABASE \"$PGDATABASE\" SET custom.$setting"
    done
    "${PSQL[@]}" -f "$schema" >/dev/null
    "${PSQL[@]}" -f "$DIR/database/istsos_auth.sql" >/dev/null
    "${PSQL[@]}" -f "$DIR/database/istsos_schema_versioning.sql" >/dev/null
    rm -f "$schema"
fi
cd "$DIR/api"
export HOSTNAME="http://127.0.0.1:$PORT" SUBPATH=/istsos4 VERSION=/v1.1 POSTGRES_HOST="$PGHOST" POSTGRES_PORT="$PGPORT" \
    POSTGRES_DB="$PGDATABASE" ISTSOS_ADMIN=istsos_admin ISTSOS_ADMIN_PASSWORD=istsos EPSG=4326 REDIS=0 AUTHORIZATION=0 \
    VERSIONING=0 NETWORK=0 DEBUG=0 COUNT_MODE=FULL PG_POOL_SIZE=10
exec "$DIR/.venv/bin/uvicorn" --workers "${ISTSOS4_WORKERS:-1}" --timeout-keep-alive 75 --log-level warning --no-access-log --host 127.0.0.1 --port "$PORT" app.main:app
