"""South-bound device adapters (one package per protocol) and forecast adapters.

Every adapter implements `adapters.connector.Connector`; the field runtime (`agents/`) knows
adapters only through that protocol. Copyleft protocol libraries stay behind optional extras,
imported lazily inside their own adapter package."""
