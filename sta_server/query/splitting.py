"""Splitting option text at a separator outside parentheses and quoted strings (shared by the
$expand option parser and the $apply parser)."""
from __future__ import annotations


class SplitError(ValueError):
    """Unbalanced parentheses or an unterminated string; `position` is 0-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def split_outside(text: str, sep: str) -> list[tuple[str, int]]:
    """Split text at `sep` outside parentheses and single-quoted strings ('' is an escaped quote).

    Returns (piece, offset of the piece in text)."""
    pieces: list[tuple[str, int]] = []
    depth, quote_at, start = 0, -1, 0
    for i, char in enumerate(text):
        if char == "'":
            quote_at = i if quote_at < 0 else -1
        elif quote_at >= 0:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SplitError("Unexpected ')'", i)
        elif char == sep and depth == 0:
            pieces.append((text[start:i], start))
            start = i + 1
    if quote_at >= 0:
        raise SplitError("Unterminated string", quote_at)
    if depth:
        raise SplitError("Unexpected end of input (missing ')')", len(text))
    pieces.append((text[start:], start))
    return pieces
