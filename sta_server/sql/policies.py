"""Row-level security: what a scoped user may see is decided by PostgreSQL itself.

Every request of a user who is not an administrator runs its transaction as the database role
`sta_scoped` with the user's grants in the setting `sta.labels` (see `scope`). The policies below
then hide every row the user may not see, on every path a query can take: collections, navigation,
`$expand`, `$filter` across links, `$count`, `$apply`, `$batch`, exports. Visibility flows from
Things: a Thing is visible when one of its labels is granted; its Datastreams, Observations,
Locations, Tasks… through it. MQTT creates run as their publisher (security/mqtt_identity.py); the
server's own connections (administrators, notifications) keep the owner role, to which the
policies do not apply.

The visibility rules are written once here and used by the migrations.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection, text

SCOPED_ROLE = "sta_scoped"
LABELS_SETTING = "sta.labels"

_THING_VISIBLE = "thing_id IN (SELECT id FROM things)"

# table -> the condition (on a row of the table) that the current user may see the row. Conditions
# refer to other protected tables, whose own policies apply in turn.
VISIBLE: dict[str, str] = {
    "things": "id IN (SELECT l.thing_id FROM thing_labels l WHERE l.label = ANY (sta_labels()))",
    "datastreams": _THING_VISIBLE,
    "multi_datastreams": _THING_VISIBLE,
    "tasking_capabilities": _THING_VISIBLE,
    "historical_locations": _THING_VISIBLE,
    "locations": "id IN (SELECT p.location_id FROM things_locations p WHERE p.thing_id IN (SELECT id FROM things))",
    "observations": "datastream_id IN (SELECT id FROM datastreams)"
                    " OR multi_datastream_id IN (SELECT id FROM multi_datastreams)",
    # A feature generated from a Location is seen with it; others through the Observations of it.
    "features": "source_location_id IN (SELECT id FROM locations)"
                " OR EXISTS (SELECT 1 FROM observations o WHERE o.feature_of_interest_id = features.id)",
    "sensors": "id IN (SELECT sensor_id FROM datastreams) OR id IN (SELECT sensor_id FROM multi_datastreams)",
    "observed_properties": "id IN (SELECT observed_property_id FROM datastreams) OR id IN"
                           " (SELECT p.observed_property_id FROM multi_datastreams_observed_properties p"
                           " WHERE p.multi_datastream_id IN (SELECT id FROM multi_datastreams))",
    "actuators": "id IN (SELECT actuator_id FROM tasking_capabilities)",
    "tasks": "tasking_capability_id IN (SELECT id FROM tasking_capabilities)",
    "rollup_hourly": "datastream_id IN (SELECT id FROM datastreams)",
}

# Rows whose visibility comes from a parent must have a visible parent when they are inserted; the
# others (a new Thing, Sensor, FeatureOfInterest…) are allowed by the role's permissions alone.
INSERT_CHECKED = ("datastreams", "multi_datastreams", "tasking_capabilities", "historical_locations",
                  "observations", "tasks", "rollup_hourly")

# Tables the scoped role reads and writes without row policies (both ends of a link table are
# protected; rollup_dirty and idempotency_keys are bookkeeping), and those it may only append to.
UNPROTECTED = ("things_locations", "locations_historical_locations", "multi_datastreams_observed_properties",
               "rollup_dirty", "idempotency_keys")
READ_ONLY = ("thing_labels",)
APPEND_ONLY = ("audit_records",)

LABELS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sta_labels() RETURNS text[] LANGUAGE sql STABLE AS
$$ SELECT coalesce(nullif(current_setting('{LABELS_SETTING}', true), ''), '{{}}')::text[] $$
"""


def enable_statements() -> list[str]:
    """The DDL that creates the scoped role (once per cluster), its grants and every policy."""
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SCOPED_ROLE}') THEN "
        f"CREATE ROLE {SCOPED_ROLE} NOLOGIN; END IF; END $$",
        # a DBA may have made the role and granted it already (then no CREATEROLE is needed here)
        f"DO $$ BEGIN IF NOT pg_has_role(current_user, '{SCOPED_ROLE}', 'MEMBER') THEN "
        f"GRANT {SCOPED_ROLE} TO CURRENT_USER; END IF; END $$",
        LABELS_FUNCTION,
        f"GRANT USAGE ON SCHEMA public TO {SCOPED_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {SCOPED_ROLE}",
    ]
    for table in UNPROTECTED:
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {SCOPED_ROLE}")
    statements += [f"GRANT SELECT ON {table} TO {SCOPED_ROLE}" for table in READ_ONLY]
    statements += [f"GRANT INSERT ON {table} TO {SCOPED_ROLE}" for table in APPEND_ONLY]
    for table in VISIBLE:
        statements += table_policy_statements(table)
    return statements


def table_policy_statements(table: str) -> list[str]:
    """Grants and policies of one protected table (also for a table re-created by a later migration)."""
    visible = VISIBLE[table]
    check = visible if table in INSERT_CHECKED else "true"
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {SCOPED_ROLE}",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY sta_select ON {table} FOR SELECT TO {SCOPED_ROLE} USING ({visible})",
        f"CREATE POLICY sta_insert ON {table} FOR INSERT TO {SCOPED_ROLE} WITH CHECK ({check})",
        f"CREATE POLICY sta_update ON {table} FOR UPDATE TO {SCOPED_ROLE} USING ({visible})",
        f"CREATE POLICY sta_delete ON {table} FOR DELETE TO {SCOPED_ROLE} USING ({visible})",
    ]


def disable_statements() -> list[str]:
    statements = []
    for table in VISIBLE:
        statements += [f"DROP POLICY IF EXISTS sta_{verb} ON {table}"
                       for verb in ("select", "insert", "update", "delete")]
        statements.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    statements.append(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {SCOPED_ROLE}")
    statements.append(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {SCOPED_ROLE}")
    statements.append(f"REVOKE ALL ON SCHEMA public FROM {SCOPED_ROLE}")
    statements.append("DROP FUNCTION IF EXISTS sta_labels()")
    return statements


def run(execute: Callable[[str], object], statements: Iterable[str]) -> None:
    for statement in statements:
        execute(statement)


def scope(conn: Connection, labels: Iterable[str]) -> None:
    """Run the rest of the current transaction as the scoped role with these grants."""
    conn.execute(text(f"SELECT set_config('role', '{SCOPED_ROLE}', true), "
                      f"set_config('{LABELS_SETTING}', CAST(:labels AS text[])::text, true)"),
                 {"labels": sorted(labels)})


def unscope(conn: Connection) -> None:
    """Back to the connection's own role for the rest of the transaction (server-side work)."""
    conn.execute(text("SELECT set_config('role', 'none', true)"))
