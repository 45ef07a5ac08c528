"""What an operation needs to know about the request besides path and query."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sta_server.serialize.entity import Links

_SAFE = "$(),/:'"


@dataclass(frozen=True)
class RequestContext:
    """`root` is the external URL of the API version (`https://host/sta/v1.1`); `params` the
    request's query parameters as given, kept for `@iot.nextLink`."""

    root: str
    version: str
    default_top: int
    max_top: int
    params: Mapping[str, str] = field(default_factory=dict)
    count_estimate_threshold: int | None = None  # None: exact counts
    max_expand_depth: int | None = None  # None: query.options.EXPAND_DEPTH_CEILING
    max_csv_rows: int | None = None  # a CSV without $top stops after this many rows

    @property
    def links(self) -> Links:
        return Links(self.root)

    def next_link(self, url_path: str, skip: int, top: int,
                  options: Mapping[str, str] | None = None, skiptoken: str | None = None) -> str:
        """The next page of `url_path` (below the root) with the same options (the request's own,
        or those given: an expanded collection's)."""
        given = self.params if options is None else options
        params = {k: v for k, v in given.items() if k not in ("$skip", "$top", "$skiptoken")}
        params["$top"] = str(top)
        if skiptoken is not None:
            params["$skiptoken"] = skiptoken
        elif skip:
            params["$skip"] = str(skip)
        return f"{self.root}/{url_path}?{urlencode(params, safe=_SAFE)}"
