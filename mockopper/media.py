"""Media types and base64 payloads: what a payload is, worked out without holding it decoded.

A media type comes from a file name's extension (a fixed table, the same on every machine)
or from a payload's first bytes; a base64 payload's size follows from its length and
padding, and its digest is SHA-256 of the decoded bytes, decoded a slice at a time.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["OCTET_STREAM", "Kind", "Measure", "clean", "digest", "kind_of", "looks_base64", "measure", "media_type_of"]

Kind = Literal["image", "pdf", "audio", "file"]
OCTET_STREAM = "application/octet-stream"

# --- media types ------------------------------------------------------------------------------

_BY_EXTENSION = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/opus",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "aiff": "audio/aiff",
    "weba": "audio/webm",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mpeg": "video/mpeg",
    "mpg": "video/mpeg",
    "avi": "video/x-msvideo",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "js": "text/javascript",
    "py": "text/x-python",
    "json": "application/json",
    "xml": "application/xml",
    "rtf": "application/rtf",
    "zip": "application/zip",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def kind_of(media_type: str) -> Kind:
    """image/* is an image, application/pdf a PDF, audio/* audio; anything else a file."""
    if media_type.startswith("image/"):
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    if media_type.startswith("audio/"):
        return "audio"
    return "file"


def media_type_of(name: str | None) -> str | None:
    """The media type a file name or URL path's extension implies (a fixed table, the same on every machine)."""
    if not name:
        return None
    path = urlsplit(name).path if "://" in name else name
    stem, dot, extension = path.rpartition(".")
    if not dot or not stem or "/" in extension:
        return None
    return _BY_EXTENSION.get(extension.lower())


def clean(media_type: str | None) -> str | None:
    """`Image/PNG; charset=x` -> `image/png`; empty or shapeless values count as none."""
    if not media_type or not isinstance(media_type, str):
        return None
    value = media_type.split(";", 1)[0].strip().lower()
    return value if "/" in value else None


def sniff(head: bytes) -> str | None:
    """The media type a payload's first bytes announce, for the common formats."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        if brand == b"avif":
            return "image/avif"
        return "audio/mp4" if brand == b"M4A " else "video/mp4"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


# --- measuring base64 -------------------------------------------------------------------------

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
_URLSAFE = bytes.maketrans(b"-_", b"+/")


@dataclass(frozen=True, slots=True)
class Measure:
    """What `measure` found out about a base64 payload."""

    size: int | None  # decoded bytes; None when the text is not base64
    digest: str
    sniffed: str | None


def measure(text: str, start: int = 0) -> Measure:
    """Size, digest and sniffed type of the base64 in `text[start:]`.

    Standard and URL-safe alphabets are accepted, `=` padding is optional, and line breaks
    (as MIME wraps base64) are ignored. The size follows from the length and padding; the
    digest is SHA-256 of the decoded bytes, decoded a slice at a time into the hash, so the
    same file has the same digest whichever alphabet its SDK encoded it with.
    Text that is not base64 has no size, and the digest of the text itself.
    """
    if not text.isascii():
        return Measure(None, digest(text[start:].encode("utf-8", "surrogatepass")), None)
    raw = text.encode("ascii")
    junk = raw.translate(None, _ALPHABET)
    if start:
        junk = junk[len(raw[:start].translate(None, _ALPHABET)) :]
    breaks = junk.count(b"\n") + junk.count(b"\r")
    padding = junk.count(b"=")
    chars = len(raw) - start - breaks - padding
    if (
        len(junk) != breaks + padding
        or padding > 2
        or _padding_at_end(raw, start) != padding
        or chars % 4 == 1
        or (padding and (chars + padding) % 4)
    ):
        return Measure(None, digest(memoryview(raw)[start:]), None)
    data: bytes | memoryview = memoryview(raw)[start:]
    if breaks:
        data = bytes(data).translate(None, b"\r\n")
    urlsafe = raw.find(b"-", start) >= 0 or raw.find(b"_", start) >= 0
    hasher = hashlib.sha256()
    sniffed = None
    for offset in range(0, len(data), _SLICE):
        piece: bytes | memoryview = data[offset : offset + _SLICE]
        if urlsafe:
            piece = bytes(piece).translate(_URLSAFE)
        if offset + _SLICE >= len(data):  # the last slice: padding as the decoder wants it
            piece = bytes(piece).rstrip(b"=")
            piece += b"=" * (-len(piece) % 4)
        decoded = binascii.a2b_base64(piece)
        hasher.update(decoded)
        if not offset:
            sniffed = sniff(decoded[:16])
    return Measure(chars * 3 // 4, "sha256:" + hasher.hexdigest(), sniffed)


_SLICE = 4 * 1024 * 1024  # base64 characters decoded at a time (a multiple of 4)


def _padding_at_end(raw: bytes, start: int) -> int:
    """How many `=` end the text (before any trailing line breaks)."""
    i = len(raw) - 1
    while i >= start and raw[i] in (10, 13):
        i -= 1
    count = 0
    while i >= start and raw[i] == 61:
        count += 1
        i -= 1
    return count


def digest(data: bytes | memoryview) -> str:
    """`sha256:` and the hex SHA-256 of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def looks_base64(sample: str) -> bool:
    """Whether a short sample of text has only base64 characters (and padding, line breaks)."""
    return sample.isascii() and not sample.encode().translate(None, _ALPHABET + b"=\r\n")
