"""Query language: URL paths, $filter expressions and query options as plain data (no SQL here)."""
