"""A grid-side commercial battery over plain Modbus TCP (S4G-SYSTEM.md T14: LiBal / Xolta BAT-79 behind a
Socomec 33 kW inverter): the register map in variables.py, pure encoders/decoders in registers.py, the
connector over pymodbus's asyncio client, and an emulator on pymodbus's server."""
