"""The Bucharest energy router (D3.1 table 15) over IEC 61850 MMS: the node map in variables.py, the pure
model text and read-back rules in model.py, the router's physics in router.py, the MMS connector and an
emulated router on 127.0.0.1. pyiec61850-ng (libiec61850 bindings, GPLv3) is an optional extra
(`pip install '.[iec61850]'`), imported lazily and only inside this package (connector.py, emulator.py)."""
