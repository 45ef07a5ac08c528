"""One typed client of the SensorThings server (HTTP on httpx, MQTT on paho), used by every agent,
adapter, controller and GUI back end. Imports nothing of `sta_server`."""
