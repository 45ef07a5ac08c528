"""`GET /metrics`: counters in the Prometheus text format (MQTT ingest and notifications)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from sta_server.errors import Forbidden
from sta_server.mqtt.service import MqttService
from sta_server.security.principal import current

blueprint = Blueprint("metrics", __name__)


def render_metrics(mqtt: MqttService | None) -> str:
    lines = ["# TYPE sta_mqtt_enabled gauge", f"sta_mqtt_enabled {int(mqtt is not None)}"]
    if mqtt is None:
        return "\n".join(lines) + "\n"
    stats = mqtt.ingest.stats
    lines += [
        "# HELP sta_mqtt_ingest_accepted_total Entities created from MQTT messages.",
        "# TYPE sta_mqtt_ingest_accepted_total counter",
        f"sta_mqtt_ingest_accepted_total {stats.accepted}",
        "# HELP sta_mqtt_ingest_rejected_total MQTT messages rejected, by error code.",
        "# TYPE sta_mqtt_ingest_rejected_total counter",
        *[f'sta_mqtt_ingest_rejected_total{{code="{code}"}} {count}'
          for code, count in sorted(stats.reasons.items())],
        "# TYPE sta_mqtt_ingest_batches_total counter",
        f"sta_mqtt_ingest_batches_total {stats.batches}",
        "# TYPE sta_mqtt_ingest_queue_length gauge",
        f"sta_mqtt_ingest_queue_length {mqtt.ingest.queue.qsize()}",
        "# TYPE sta_mqtt_notifications_published_total counter",
        f"sta_mqtt_notifications_published_total {mqtt.notifier.published}",
        "# TYPE sta_mqtt_subscribed_paths gauge",
        f"sta_mqtt_subscribed_paths {len(mqtt.registry.bases())}",
    ]
    return "\n".join(lines) + "\n"


@blueprint.get("/metrics")
def metrics() -> Response:
    if not current().unrestricted:
        raise Forbidden("Metrics are readable by administrators only")
    mqtt: MqttService | None = current_app.config.get("STA_MQTT")
    return Response(render_metrics(mqtt), mimetype="text/plain; version=0.0.4")
