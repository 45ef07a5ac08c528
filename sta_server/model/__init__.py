"""Entity types as data: every type, property and navigation link is declared once here."""
from sta_server.model.entity import EntityType, Kind, NavLink, Property
from sta_server.model.registry import REGISTRY, Registry

__all__ = ["REGISTRY", "EntityType", "Kind", "NavLink", "Property", "Registry"]
