"""`GET /metrics`: counters in the Prometheus text format (MQTT ingest and notifications).

In the multi-process run mode the HTTP worker that answers adds its own counters to those the
other processes (the ingest process, the other workers) last wrote to the run directory
(sta_server/counters.py): they are at most about a second old."""
from __future__ import annotations

import os
import pathlib
from typing import Protocol

from flask import Blueprint, Response, current_app

from sta_server.counters import MqttCounters, Totals, read_other_counters, total
from sta_server.errors import Forbidden
from sta_server.security.principal import current

blueprint = Blueprint("metrics", __name__)
COUNTERS_DIR = "STA_COUNTERS_DIR"  # app.config key: the run directory of the multi-process mode


class CounterSource(Protocol):
    """What `app.config["STA_MQTT"]` holds: the process's MQTT service."""

    def counters(self) -> MqttCounters: ...


def render_metrics(totals: Totals | None) -> str:
    """The text of `/metrics`; `totals` None: MQTT is off."""
    lines = ["# TYPE sta_mqtt_enabled gauge", f"sta_mqtt_enabled {int(totals is not None)}"]
    if totals is None:
        return "\n".join(lines) + "\n"
    counts = totals.counters
    lines += [
        "# HELP sta_mqtt_processes Server processes whose MQTT counters are added up here.",
        "# TYPE sta_mqtt_processes gauge",
        f"sta_mqtt_processes {totals.processes}",
        "# HELP sta_mqtt_ingest_accepted_total Entities created from MQTT messages.",
        "# TYPE sta_mqtt_ingest_accepted_total counter",
        f"sta_mqtt_ingest_accepted_total {counts.accepted}",
        "# HELP sta_mqtt_ingest_rejected_total MQTT messages rejected, by error code.",
        "# TYPE sta_mqtt_ingest_rejected_total counter",
        *[f'sta_mqtt_ingest_rejected_total{{code="{code}"}} {count}'
          for code, count in sorted(counts.rejected.items())],
        "# HELP sta_mqtt_ingest_duplicates_total MQTT messages acknowledged unstored: their idempotency key was.",
        "# TYPE sta_mqtt_ingest_duplicates_total counter",
        f"sta_mqtt_ingest_duplicates_total {counts.duplicates}",
        "# TYPE sta_mqtt_ingest_batches_total counter",
        f"sta_mqtt_ingest_batches_total {counts.batches}",
        "# TYPE sta_mqtt_ingest_queue_length gauge",
        f"sta_mqtt_ingest_queue_length {counts.queue_length}",
        "# TYPE sta_mqtt_notifications_published_total counter",
        f"sta_mqtt_notifications_published_total {counts.notifications_published}",
        "# TYPE sta_mqtt_subscribed_paths gauge",
        f"sta_mqtt_subscribed_paths {counts.subscribed_paths}",
        "# HELP sta_mqtt_ingest_paced_total MQTT creates held back (unacknowledged) by the per-topic pace.",
        "# TYPE sta_mqtt_ingest_paced_total counter",
        f"sta_mqtt_ingest_paced_total {counts.paced}",
        "# HELP sta_ingest_process_restarts_total Restarts of the MQTT ingest process (multi-process mode).",
        "# TYPE sta_ingest_process_restarts_total counter",
        f"sta_ingest_process_restarts_total {counts.ingest_restarts}",
        "# HELP sta_mqtt_broker_queue_alarm 1 while the broker holds more than half of its queue bound.",
        "# TYPE sta_mqtt_broker_queue_alarm gauge",
        f"sta_mqtt_broker_queue_alarm {int(counts.broker_alarm)}",
    ]
    if counts.broker_messages >= 0:  # the broker's $SYS counters, once it has sent them
        lines += [
            "# HELP sta_mqtt_broker_stored_messages Messages the broker holds (all sessions; $SYS).",
            "# TYPE sta_mqtt_broker_stored_messages gauge",
            f"sta_mqtt_broker_stored_messages {counts.broker_messages}",
            "# TYPE sta_mqtt_broker_stored_bytes gauge",
            f"sta_mqtt_broker_stored_bytes {counts.broker_bytes}",
            "# HELP sta_mqtt_broker_dropped_total Messages the broker dropped since it started ($SYS).",
            "# TYPE sta_mqtt_broker_dropped_total counter",
            f"sta_mqtt_broker_dropped_total {max(counts.broker_dropped, 0)}",
        ]
    return "\n".join(lines) + "\n"


def read_totals(own: CounterSource | None, counters_dir: pathlib.Path | None) -> Totals | None:
    """This process's live counters plus the other processes' last written ones."""
    if own is None:
        return None
    others = read_other_counters(counters_dir, os.getpid()) if counters_dir is not None else []
    return total([own.counters(), *others])


@blueprint.get("/metrics")
def metrics() -> Response:
    if not current().unrestricted:
        raise Forbidden("Metrics are readable by administrators only")
    totals = read_totals(current_app.config.get("STA_MQTT"), current_app.config.get(COUNTERS_DIR))
    return Response(render_metrics(totals), mimetype="text/plain; version=0.0.4")
