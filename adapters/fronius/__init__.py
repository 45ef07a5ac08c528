"""Fronius hybrid inverters: Solar API v1 (HTTP JSON) for readings, SunSpec Modbus model 124 for battery
commands (S4G-SYSTEM.md T17). The emulator serves both from one simulated house."""
