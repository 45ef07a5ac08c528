"""URL resource paths: `Things(1)/Datastreams`, `Datastreams(2)/Thing/name/$value`, `…/$ref`, and
paths into the members of JSON properties: `Things(1)/properties/objArray[0]/string`, `result[0]`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sta_server.errors import InvalidPath, NotFound
from sta_server.model import REGISTRY, EntityType, Kind, NavLink, Property

MAX_ID = 2**63 - 1  # ids are bigint: larger ones exist nowhere
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<id>[^)]*)\))?$")
_MEMBER = re.compile(r"^(?P<key>[^\[\]]*)(?P<indices>(?:\[\d+\])*)$")  # `objArray[0]`, `intIntArray[1][0]`
_INDEX = re.compile(r"\[(\d+)\]")
MEMBER_KINDS = (Kind.JSON, Kind.RESULT)  # properties whose JSON members a path may name
VERSIONS = ("1.0", "1.1")


@dataclass(frozen=True)
class Step:
    """One entity-bearing step: an entity set (link None) or a navigation link, with an optional id."""

    entity_type: EntityType
    link: NavLink | None = None
    id: int | None = None

    @property
    def is_collection(self) -> bool:
        return self.id is None and (self.link is None or self.link.many)


@dataclass(frozen=True)
class ResourcePath:
    version: str
    steps: tuple[Step, ...]
    prop: Property | None = None
    value: bool = False
    ref: bool = False
    members: tuple[str | int, ...] = ()  # keys and array indices into the JSON value of `prop`

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def entity_type(self) -> EntityType:
        return self.steps[-1].entity_type

    @property
    def is_collection(self) -> bool:
        return self.prop is None and self.last.is_collection

    @property
    def member_name(self) -> str:
        """The name a property read answers under: the property's, or the last segment of a member
        path as written (`string` for `properties/objArray[0]/string`, `result[0]`)."""
        assert self.prop is not None
        if self.prop.kind is Kind.ID:
            return "@iot.id"
        indices: list[int] = []
        key = self.prop.name
        for member in reversed(self.members):
            if isinstance(member, str):
                key = member
                break
            indices.insert(0, member)
        return key + "".join(f"[{index}]" for index in indices)

    def url_path(self) -> str:
        """The path as written back into links (no version prefix)."""
        parts = []
        for step in self.steps:
            name = step.link.name if step.link else step.entity_type.plural
            parts.append(name if step.id is None else f"{name}({step.id})")
        if self.prop:
            parts.append(self.prop.name)
        for member in self.members:
            if isinstance(member, int):
                parts[-1] += f"[{member}]"
            else:
                parts.append(member)
        return "/".join(parts)


def parse_id(text: str, where: str) -> int:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    try:
        ident = int(text)
    except ValueError:
        raise InvalidPath(f"Invalid id '{text}' in '{where}': ids are integers") from None
    if not -MAX_ID <= ident <= MAX_ID:
        raise NotFound(f"No entity with id {text[:40]}", target=where)
    return ident


def parse_path(version: str, path: str) -> ResourcePath:
    """Parse the part of a URL after `/v1.1/`; raises InvalidPath for anything the model lacks."""
    segments = [s for s in path.strip("/").split("/") if s]
    if not segments:
        raise InvalidPath("Empty resource path")
    steps: list[Step] = [_first_step(segments[0], version)]
    prop: Property | None = None
    members: list[str | int] = []
    value = ref = False
    for index, segment in enumerate(segments[1:], start=1):
        if value or ref:
            raise InvalidPath(f"Nothing may follow '{segments[index - 1]}'")
        if segment == "$ref" and prop is None:
            ref = True
        elif segment == "$value" and prop is not None:
            value = True
        elif prop is not None and not segment.startswith("$"):
            members.extend(_member(prop, segment, with_key=True))
        elif prop is not None:
            raise InvalidPath(f"'{segment}' cannot follow the property '{prop.name}'", target=segment)
        elif steps[-1].is_collection:
            raise InvalidPath(f"'{segment}' cannot follow the collection '{segments[index - 1]}'")
        else:
            step_or_prop = _next_step(steps[-1].entity_type, segment, version)
            if isinstance(step_or_prop, Step):
                steps.append(step_or_prop)
            else:
                prop, indices = step_or_prop
                members.extend(indices)
    return ResourcePath(version, tuple(steps), prop, value, ref, tuple(members))


def _member(prop: Property, segment: str, *, with_key: bool) -> list[str | int]:
    """A segment inside a JSON property: a key with optional array indices (`objArray[0]`), or, on
    the property's own segment (`result[0]`), indices only."""
    match = _MEMBER.match(segment)
    if prop.kind not in MEMBER_KINDS or match is None or bool(match["key"]) != with_key:
        raise InvalidPath(f"'{segment}' cannot follow the property '{prop.name}'", target=segment)
    indices: list[str | int] = [int(index) for index in _INDEX.findall(match["indices"])]
    return [match["key"], *indices] if with_key else indices


def _first_step(segment: str, version: str) -> Step:
    match = _SEGMENT.match(segment)
    entity_type = REGISTRY.by_plural(match["name"]) if match else None
    if match is None or entity_type is None or entity_type.since > version:
        raise InvalidPath(f"No entity set named '{segment}'", target=segment)
    ident = parse_id(match["id"], segment) if match["id"] is not None else None
    return Step(entity_type, None, ident)


def _next_step(entity_type: EntityType, segment: str,
               version: str) -> Step | tuple[Property, list[str | int]]:
    base = segment.split("[", 1)[0]
    if base != segment:  # `result[0]`: a property and indices into its value
        prop = entity_type.prop(base)
        if prop is None or prop.since > version:
            raise InvalidPath(f"{entity_type.name} has no property named '{base}'", target=segment)
        return prop, _member(prop, segment[len(base):], with_key=False)
    match = _SEGMENT.match(segment)
    if match is None:
        raise InvalidPath(f"Invalid path segment '{segment}'", target=segment)
    name = match["name"]
    link = entity_type.link(name)
    if link is not None and link.since <= version:
        if match["id"] is not None and not link.many:
            raise InvalidPath(f"'{name}' is a single entity: no id may follow it")
        ident = parse_id(match["id"], segment) if match["id"] is not None else None
        return Step(REGISTRY.target(link), link, ident)
    prop = entity_type.prop(name)
    if prop is not None and prop.since <= version and match["id"] is None:
        return prop, []
    raise InvalidPath(f"{entity_type.name} has no property or link named '{name}'", target=segment)
