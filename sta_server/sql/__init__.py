"""SQL: tables, AST-to-SQL compilation, selects and writes. The only layer that builds SQL."""
