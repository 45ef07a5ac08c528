"""Running a one-statement write (service/lone_observation.py, service/lone_delete.py): the statement
in autocommit mode on a connection of its own, and the one decision both make when it fails —
answer from it, or decline so that the rule set's path answers in a transaction of its own."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from sta_server.service.database_errors import waits_again
from sta_server.sql.precompiled import CommittedUnread

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_alone(engine: Engine, statement: Callable[[Connection], T | None],
              what: Callable[[], str]) -> T | None:
    """`statement`'s result, or None: declined, nothing written (it rolled back; the rule set's
    path meets the same error and answers it). Raised instead: a connection broken meanwhile
    (written or not is unknown: no second try), a statement timeout or an outage (the rule set's
    path would wait for it again), and CommittedUnread (written, the row unread: logged, a 500).
    `what` names the request in the log (built only when something is logged)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            return statement(conn)
        except CommittedUnread:
            log.error("%s committed but its row could not be read back", what(), exc_info=True)
            raise
        except DBAPIError as error:
            if error.connection_invalidated or conn.invalidated or waits_again(error):
                raise
            log.debug("%s failed as one statement; the rule set's path answers", what(), exc_info=True)
            return None
