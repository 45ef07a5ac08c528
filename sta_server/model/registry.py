"""Looks entity types up by singular or plural name; checks that every link has its inverse."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sta_server.model.entity import EntityType, NavLink
from sta_server.model.multidatastream import MULTI_DATASTREAM
from sta_server.model.sensing import SENSING_TYPES
from sta_server.model.tasking import TASKING_TYPES


class Registry:
    def __init__(self, types: Iterable[EntityType]) -> None:
        self._by_name = {t.name: t for t in types}
        self._by_plural = {t.plural: t for t in self._by_name.values()}
        self._check()

    def __iter__(self) -> Iterator[EntityType]:
        return iter(self._by_name.values())

    def type(self, name: str) -> EntityType:
        return self._by_name[name]

    def by_plural(self, plural: str) -> EntityType | None:
        return self._by_plural.get(plural)

    def target(self, link: NavLink) -> EntityType:
        return self._by_name[link.target]

    def inverse(self, link: NavLink) -> NavLink:
        inverse = self.target(link).link(link.inverse)
        assert inverse is not None, link
        return inverse

    def _check(self) -> None:
        for entity_type in self._by_name.values():
            for link in entity_type.links:
                target = self._by_name.get(link.target)
                inverse = target.link(link.inverse) if target else None
                if inverse is None:
                    raise ValueError(f"{entity_type.name}.{link.name} has no inverse link")
                if inverse.inverse != link.name or inverse.target != entity_type.name:
                    raise ValueError(f"{entity_type.name}.{link.name} and its inverse disagree")
                if link.via and inverse.fk is None:
                    raise ValueError(f"{entity_type.name}.{link.name}: nobody holds the key")


REGISTRY = Registry((*SENSING_TYPES, MULTI_DATASTREAM, *TASKING_TYPES))
