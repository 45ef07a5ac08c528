"""The SunSpec register image: the `SunS` marker, models as pysunspec2 lays them out, the end model."""
from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from sunspec2 import device as sunspec_device

BASE_ADDRESS = 40000
SUNS_MARKER = b"SunS"
END_MODEL = (0xFFFF, 0)


def registers_of(data: bytes) -> list[int]:
    """Big-endian 16-bit registers of a byte string."""
    return list(struct.unpack(f">{len(data) // 2}H", data))


def bytes_of(registers: Sequence[int]) -> bytes:
    return struct.pack(f">{len(registers)}H", *registers)


def new_model(model_id: int) -> Any:
    """An empty model (all points unimplemented) from pysunspec2's model definitions."""
    return sunspec_device.Model(model_id)


def build_image(models: Sequence[Any], marker: bytes = SUNS_MARKER) -> tuple[list[int], dict[int, int]]:
    """The registers from BASE_ADDRESS on, and each model's offset (of its ID register) in them."""
    image = registers_of(marker[:4].ljust(4, b"\0"))
    offsets = {}
    for model in models:
        offsets[int(model.model_id)] = len(image)
        image.extend(registers_of(model.get_mb()))
    image.extend(END_MODEL)
    return image, offsets
