"""The DLMS/COSEM TCP wrapper (IEC 62056-47): an 8-byte header (version 1, source wPort, destination wPort,
length) before each APDU. Pure framing plus one async reader."""
from __future__ import annotations

import asyncio

from dlms_cosem.protocol.wrappers import WrapperHeader

from adapters.dlms.errors import GarbledFrame

VERSION = 1
MAX_APDU = 65535


def wrap(apdu: bytes, source: int, destination: int) -> bytes:
    return bytes(WrapperHeader(source, destination, len(apdu), VERSION).to_bytes()) + apdu


def parse_header(header: bytes) -> tuple[int, int, int]:
    """(source, destination, length) of a wrapper header; refuses another version."""
    parsed = WrapperHeader.from_bytes(header)
    if parsed.version != VERSION:
        raise GarbledFrame(f"wrapper version {parsed.version} (expected {VERSION}): {header.hex()}")
    return int(parsed.source_wport), int(parsed.destination_wport), int(parsed.length)


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """The next (source, destination, APDU); EOF → ConnectionResetError, bad header → GarbledFrame."""
    try:
        header = await reader.readexactly(8)
        source, destination, length = parse_header(header)
        return source, destination, await reader.readexactly(length)
    except asyncio.IncompleteReadError as error:
        raise ConnectionResetError("the peer closed the connection") from error
