"""Names in query options checked against the model: $select and $expand."""
from __future__ import annotations

from sta_server.errors import InvalidQuery
from sta_server.model import EntityType, Kind, NavLink, Property
from sta_server.model.selection import Selection
from sta_server.query.ast import Expand, Path


def resolve_select(entity_type: EntityType, paths: tuple[Path, ...] | None, version: str) -> Selection:
    if paths is None:
        return Selection(entity_type.visible_properties(version), entity_type.visible_links(version))
    props: dict[str, Property] = {}
    links: dict[str, NavLink] = {}
    members: dict[str, list[tuple[str, ...]]] = {}
    self_link = False
    for path in paths:
        head, rest = path.segments[0], path.segments[1:]
        if head == "@iot.selfLink":
            self_link = True
            continue
        prop = entity_type.prop(head)
        link = entity_type.link(head)
        if prop is not None and prop.since <= version:
            if rest and prop.kind not in (Kind.JSON, Kind.RESULT):
                raise InvalidQuery(f"'{head}' has no members to select", target="/".join(path.segments))
            props[prop.name] = prop
            if rest:
                members.setdefault(prop.name, []).append(rest)
        elif link is not None and link.since <= version and not rest:
            links[link.name] = link
        else:
            raise InvalidQuery(f"$select: {entity_type.name} has no property or link "
                               f"'{'/'.join(path.segments)}'", target="/".join(path.segments))
    ordered = tuple(p for p in entity_type.properties if p.name in props)
    whole = {name for name in props if name not in members}
    kept = {name: tuple(paths) for name, paths in members.items() if name not in whole}
    return Selection(ordered, tuple(link for link in entity_type.links if link.name in links),
                     self_link, kept)


def resolve_expand(entity_type: EntityType, expand: Expand, version: str) -> NavLink:
    link = entity_type.link(expand.link)
    if link is None or link.since > version:
        raise InvalidQuery(f"$expand: {entity_type.name} has no navigation link '{expand.link}'",
                           target=expand.link)
    return link
