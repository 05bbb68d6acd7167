"""Tiny but well-formed sample files, so inbound media has real, sniffable content."""

from __future__ import annotations

import base64
import struct
import zlib

_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////"
    "////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAA"
    "AAAP/aAAgBAQABPxA="
)
_WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x25\xd3\x66")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(payload: bytes, sequence: int, header_type: int) -> bytes:
    lacing = [255] * (len(payload) // 255) + [len(payload) % 255]
    header = (
        b"OggS"
        + bytes([0, header_type])
        + struct.pack("<qIII", 0, 0x7474, sequence, 0)
        + bytes([len(lacing)])
        + bytes(lacing)
    )
    crc = struct.pack("<I", _ogg_crc(header + payload))
    return header[:22] + crc + header[26:] + payload


def _ogg_opus() -> bytes:
    opus_head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    opus_tags = b"OpusTags" + struct.pack("<I", 7) + b"ttydesk" + struct.pack("<I", 0)
    return _ogg_page(opus_head, 0, 2) + _ogg_page(opus_tags, 1, 0)


def _mp4(major_brand: bytes = b"isom") -> bytes:
    ftyp = major_brand + struct.pack(">I", 0x200) + b"isomiso2avc1mp41"
    return struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp + struct.pack(">I", 8) + b"mdat"


def _pdf(text: str) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"% " + text.encode("utf-8", "replace") + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def sample_bytes(mime_type: str, label: str = "ttydesk sample") -> bytes:
    """A small file of the given MIME type (plain text when the type is unknown)."""
    base = mime_type.split(";")[0].strip().lower()
    if base == "image/jpeg":
        return _JPEG
    if base == "image/png":
        return _png()
    if base == "image/webp":
        return _WEBP
    if base in ("audio/ogg", "audio/opus"):
        return _ogg_opus()
    if base in ("video/mp4", "audio/mp4"):
        return _mp4()
    if base in ("video/3gp", "video/3gpp"):
        return _mp4(b"3gp4")
    if base == "audio/mpeg":
        return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64
    if base == "application/pdf":
        return _pdf(label)
    if base == "application/zip":
        return b"PK\x05\x06" + b"\x00" * 18
    return label.encode("utf-8")
