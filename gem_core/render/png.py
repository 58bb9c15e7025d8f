"""PNG encoding of review pictures, tuned for ECG pages.

A page is mostly grid that repeats down the columns, so the PNG 'Up' filter turns it into
near-zero rows and zlib at level 1 compresses it to about 1 MB. Pillow's encoder tries
several filters per row and costs twice as long for a file of the same size; the format
written here is plain PNG (8-bit RGB, one IDAT) that every reader opens.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_NONE, _FILTER_UP = 0, 2


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(img: np.ndarray, level: int = 1) -> bytes:
    """(H, W, 3) uint8 RGB -> PNG file contents."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    h, w, _ = img.shape
    flat = img.reshape(h, w * 3)
    rows = np.empty((h, 1 + w * 3), np.uint8)              # filter byte + filtered scanline
    rows[0, 0] = _FILTER_NONE
    rows[0, 1:] = flat[0]
    rows[1:, 0] = _FILTER_UP
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])      # modulo 256, as PNG's Up filter
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)   # 8-bit truecolour, no interlace
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + _chunk(b"IEND", b""))


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write `img` as PNG at a local path (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(img))
    return path
