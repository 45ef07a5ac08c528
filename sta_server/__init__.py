"""OGC SensorThings API v1.1 server on PostgreSQL/PostGIS and Mosquitto."""
