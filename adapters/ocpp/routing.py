"""A typed front of the ocpp library's `@on(Action.X)` routing (the library ships no type hints)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.routing import after as untyped_after
from ocpp.routing import on as untyped_on

Handler = TypeVar("Handler", bound=Callable[..., Any])


def on(action: Any) -> Callable[[Handler], Handler]:
    """`ocpp.routing.on`, keeping the handler's type."""
    return cast(Callable[[Handler], Handler], untyped_on(action))


def after(action: Any) -> Callable[[Handler], Handler]:
    """`ocpp.routing.after` (a hook run after the answer was sent), keeping the handler's type."""
    return cast(Callable[[Handler], Handler], untyped_after(action))
