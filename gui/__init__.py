"""The professional (DSO / aggregator) and residential GUIs (issue 20): server-rendered Flask pages that
read and command through the SensorThings server (sta_client and MQTT over WebSockets), never its tables."""
