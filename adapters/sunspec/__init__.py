"""SunSpec Modbus TCP: generic inverters and storage (models 1, 103, 124 with scale factors).

pysunspec2 (Apache-2.0) is the client, with its own raw-socket Modbus client; the emulator serves a
SunSpec register map (SunS marker at 40000) with pymodbus (BSD-3) from the simulated house models.
"""
