"""Entities to wire formats (JSON with @iot annotations, dataArray, …). Depends on model/ only."""
