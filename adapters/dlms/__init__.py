"""DLMS/COSEM meters (the SMM, IEC 62056) over the DLMS TCP wrapper: the OBIS map in variables.py, pure
APDU encoders/decoders in cosem.py (dlms-cosem 21.x, MIT — later releases are not), the wrapper framing in
wrapper.py, the async connector, and a meter emulator built from the library's APDU classes."""
