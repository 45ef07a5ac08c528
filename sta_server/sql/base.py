"""The declarative base every table module declares its tables on. tables.py imports the other
table modules so that its `TABLES` (the metadata) holds them all; they import this module, not
tables.py, so the table modules import each other in one direction only."""
from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
