"""Resource paths relative to the service root (`Things(5)/Datastreams`) and the ids inside them."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

EntityId = int | str

_TRAILING_ID = re.compile(r"\((?:'((?:[^']|'')*)'|(\d+))\)$")


def key_literal(entity_id: EntityId) -> str:
    """`5` -> `5`, `"a'b"` -> `'a''b'` (the key inside the parentheses)."""
    if isinstance(entity_id, bool):
        raise TypeError("an id is an int or a str")
    if isinstance(entity_id, int):
        return str(entity_id)
    return "'" + entity_id.replace("'", "''") + "'"


def entity_path(entity_set: str, entity_id: EntityId, *navigation: str) -> str:
    """`entity_path("Things", 5, "Datastreams")` -> `Things(5)/Datastreams`."""
    return "/".join([f"{entity_set}({key_literal(entity_id)})", *navigation])


def id_from_link(link: str) -> EntityId:
    """The id at the end of a self link or Location: `…/Observations(12)` -> 12, `…('x')` -> 'x'."""
    match = _TRAILING_ID.search(urlsplit(link).path if "://" in link else link)
    if match is None:
        raise ValueError(f"no entity id at the end of {link!r}")
    text, number = match.groups()
    return int(number) if number is not None else text.replace("''", "'")


def relative_link(link: str, base_path: str) -> str:
    """A link of the server (`@iot.nextLink`) made relative to the client's base URL path (`/v1.1`),
    so paging goes through the same host, proxy and credentials as the first request; links outside
    the base path stay absolute."""
    parts = urlsplit(link)
    prefix = base_path.rstrip("/") + "/"
    if not parts.path.startswith(prefix):
        return link
    rest = parts.path[len(prefix):]
    return f"{rest}?{parts.query}" if parts.query else rest
