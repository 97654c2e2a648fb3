"""Length-prefixed JSON messages between the runtime and its function workers."""

from __future__ import annotations

import json
import struct
from typing import IO, Any

_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024


def write_message(stream: IO[bytes], message: Any) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    stream.write(_HEADER.pack(len(body)) + body)


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(stream: IO[bytes]) -> Any:
    """The next message, or None at end of stream (the other side has gone)."""
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    body = _read_exact(stream, size)
    return None if body is None else json.loads(body)
