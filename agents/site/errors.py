"""The one error of the site file: where (file, line, field) and what."""
from __future__ import annotations


class SiteFileError(ValueError):
    """An invalid site file; `str()` is `file:line: field: message`."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        super().__init__(f"{file}:{line}: {field or '(file)'}: {message}")
