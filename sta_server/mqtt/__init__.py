"""MQTT extension: notifications to subscribers, creates from publishers, a registry of who listens."""
