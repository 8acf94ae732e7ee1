"""Attachments: the images, PDFs, audio and files a request carries, as every surface sees them.

Dialects find attachments in their vendor's fields and build them here; this module only
knows what every vendor shares: data URLs, base64, media types and file names. An
attachment keeps no payload: a base64 payload's size follows from its length and padding,
its media type from the data URL, the vendor's field, the file name or the payload's first
bytes, and its digest is SHA-256 of the decoded bytes (`sha256:` and 64 hex digits, what
`sha256sum` prints for the file).

While `reading()` is active (the pipeline wraps each request's parsing and journaling in
it), every payload is measured once: the journal's descriptor reuses what the dialect
found, so a 27 MB body is scanned, decoded and hashed one time.
"""

from __future__ import annotations

import binascii
import hashlib
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_to_bytes, urlsplit

__all__ = [
    "ATTACHMENT_FIELDS",
    "KINDS",
    "Attachment",
    "Kind",
    "Reading",
    "Source",
    "by_file_id",
    "describe",
    "descriptor",
    "inline",
    "kind_of",
    "linked",
    "media_type_of",
    "reading",
    "shared",
    "text_document",
]

Kind = Literal["image", "pdf", "audio", "file"]
Source = Literal["inline", "url", "file_id"]
KINDS: tuple[Kind, ...] = ("image", "pdf", "audio", "file")
OCTET_STREAM = "application/octet-stream"

# The token estimate (README, "Usage"): deterministic figures, never a tokenizer.
IMAGE_TOKENS = 765  # OpenAI's figure for a 1024x1024 image at high detail
PDF_PAGE_BYTES = 50_000
PDF_PAGE_TOKENS = 1_500
AUDIO_SECOND_BYTES = 16_000  # 128 kbit/s
AUDIO_SECOND_TOKENS = 32
FILE_BYTES_PER_TOKEN = 4  # like text

# Strings this long that look like base64 are journaled as descriptors even when no dialect read them.
LONG_PAYLOAD = 1024


@dataclass(frozen=True, slots=True)
class Attachment:
    """One image, PDF, audio clip or file in a message.

    `size` is the decoded size in bytes of inline data (None for a reference, or for base64
    that does not decode); `digest` identifies inline data; `url` and `file_id` name what a
    reference points at.
    """

    kind: Kind
    media_type: str
    source: Source = "inline"
    size: int | None = None
    digest: str | None = None
    url: str | None = None
    file_id: str | None = None
    filename: str | None = None

    @property
    def valid(self) -> bool:
        """False for inline base64 that does not decode."""
        return self.source != "inline" or self.size is not None

    def to_dict(self) -> dict[str, Any]:
        """What templates (`request.attachment.type`, `.media_type`, `.bytes`, ...) and the journal see."""
        return {
            "type": self.kind,
            "media_type": self.media_type,
            "bytes": self.size,
            "source": self.source,
            "digest": self.digest,
            "url": self.url,
            "file_id": self.file_id,
            "filename": self.filename,
        }

    def tokens(self) -> int:
        """Input tokens by mockopper's estimate (an unknown size counts as one page or second)."""
        size = self.size
        if self.kind == "image":
            return IMAGE_TOKENS
        if self.kind == "pdf":
            return PDF_PAGE_TOKENS * max(1, _ceil_div(size or 0, PDF_PAGE_BYTES))
        if self.kind == "audio":
            return AUDIO_SECOND_TOKENS * max(1, _ceil_div(size or 0, AUDIO_SECOND_BYTES))
        return _ceil_div(size or 0, FILE_BYTES_PER_TOKEN)

    @property
    def identity(self) -> str:
        """What generated values derive from: the digest, else the reference."""
        return self.digest or self.url or self.file_id or ""


# `request.attachment.FIELD` in templates: the keys of `to_dict`.
ATTACHMENT_FIELDS = frozenset(Attachment(kind="file", media_type=OCTET_STREAM).to_dict())


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


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


def _clean(media_type: str | None) -> str | None:
    """`Image/PNG; charset=x` -> `image/png`; empty or shapeless values count as none."""
    if not media_type or not isinstance(media_type, str):
        return None
    value = media_type.split(";", 1)[0].strip().lower()
    return value if "/" in value else None


def _sniff(head: bytes) -> str | None:
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
class _Measure:
    size: int | None  # decoded bytes; None when the text is not base64
    digest: str
    sniffed: str | None


def _measure(text: str, start: int = 0) -> _Measure:
    """Size, digest and sniffed type of the base64 in `text[start:]`.

    Standard and URL-safe alphabets are accepted, `=` padding is optional, and line breaks
    (as MIME wraps base64) are ignored. The size follows from the length and padding; the
    digest is SHA-256 of the decoded bytes, decoded a slice at a time into the hash, so the
    same file has the same digest whichever alphabet its SDK encoded it with.
    Text that is not base64 has no size, and the digest of the text itself.
    """
    if not text.isascii():
        return _Measure(None, _digest(text[start:].encode("utf-8", "surrogatepass")), None)
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
        return _Measure(None, _digest(memoryview(raw)[start:]), None)
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
            sniffed = _sniff(decoded[:16])
    return _Measure(chars * 3 // 4, "sha256:" + hasher.hexdigest(), sniffed)


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


def _digest(data: bytes | memoryview) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- building attachments ---------------------------------------------------------------------

# Within `reading()`: id(payload text) -> (the text, its descriptor). The text is held so
# that an id cannot be reused by another string while the entry lives.
_SHARED: ContextVar[dict[int, tuple[str, str]] | None] = ContextVar("mockopper_attachments", default=None)


def shared() -> dict[int, tuple[str, str]] | None:
    """The payloads read so far within `reading()` (None outside it)."""
    return _SHARED.get()


def reading() -> Reading:
    """Share payload measurements between the dialect and the journal for one request (a `with` block)."""
    return Reading()


class Reading:
    """The `with` block of `reading()`; a class rather than a generator, as it wraps every request."""

    __slots__ = ("_token",)
    _token: Token[dict[int, tuple[str, str]] | None]

    def __enter__(self) -> None:
        self._token = _SHARED.set({})

    def __exit__(self, *exc: object) -> None:
        _SHARED.reset(self._token)


def inline(
    data: str,
    media_type: str | None = None,
    filename: str | None = None,
    kind: Kind | None = None,
    *,
    data_url: bool = True,
) -> Attachment:
    """Inline data: a data URL (`data:image/png;base64,...`), or bare base64 (always, when not `data_url`).

    The media type comes from the data URL, else `media_type` (the vendor's field), else
    the file name's extension, else the payload's first bytes, else application/octet-stream.
    `kind` is what the vendor's part implies (an image part is an image) when the media type
    says nothing more specific.
    """
    stated = None
    start = 0
    if data_url and data.startswith("data:"):
        comma = data.find(",", 0, 512)
        if comma > 0:
            header = data[5:comma]
            stated = _clean(header)
            start = comma + 1
            if not header.lower().endswith(";base64"):
                return _percent_encoded(data, start, stated or _clean(media_type), filename, kind)
    measured = _measure(data, start)
    mt = stated or _clean(media_type) or media_type_of(filename) or measured.sniffed or OCTET_STREAM
    attachment = Attachment(
        kind=_kind(mt, kind), media_type=mt, size=measured.size, digest=measured.digest, filename=filename
    )
    shared = _SHARED.get()
    if shared is not None:
        shared[id(data)] = (data, describe(attachment))
    return attachment


def _percent_encoded(data: str, start: int, mt: str | None, filename: str | None, kind: Kind | None) -> Attachment:
    payload = unquote_to_bytes(data[start:])
    mt = mt or media_type_of(filename) or "text/plain"
    return Attachment(
        kind=_kind(mt, kind), media_type=mt, size=len(payload), digest=_digest(payload), filename=filename
    )


def text_document(text: str, media_type: str | None = None, filename: str | None = None) -> Attachment:
    """A document sent as plain text (its size is its UTF-8 length)."""
    encoded = text.encode("utf-8", "surrogatepass")
    mt = _clean(media_type) or "text/plain"
    return Attachment(kind=kind_of(mt), media_type=mt, size=len(encoded), digest=_digest(encoded), filename=filename)


def linked(
    url: str, media_type: str | None = None, filename: str | None = None, kind: Kind | None = None
) -> Attachment:
    """A URL (a data URL is inline data); the media type from the vendor's field, else the path's extension."""
    if url.startswith("data:"):
        return inline(url, media_type, filename, kind)
    mt = _clean(media_type) or media_type_of(filename) or media_type_of(url) or OCTET_STREAM
    return Attachment(kind=_kind(mt, kind), media_type=mt, source="url", url=_short(url), filename=filename)


def by_file_id(
    file_id: str, media_type: str | None = None, filename: str | None = None, kind: Kind | None = None
) -> Attachment:
    """A file uploaded earlier and named by its id."""
    mt = _clean(media_type) or media_type_of(filename) or OCTET_STREAM
    return Attachment(kind=_kind(mt, kind), media_type=mt, source="file_id", file_id=_short(file_id), filename=filename)


def _kind(media_type: str, hint: Kind | None) -> Kind:
    kind = kind_of(media_type)
    return hint if kind == "file" and hint is not None and media_type == OCTET_STREAM else kind


def _short(value: str, limit: int = 2048) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- the journal's view -----------------------------------------------------------------------


def describe(attachment: Attachment) -> str:
    """The descriptor an inline payload is journaled as: `[image/png, 1234 bytes, sha256:...]`."""
    size = f"{attachment.size} bytes" if attachment.size is not None else "not valid base64"
    return f"[{attachment.media_type}, {size}, {attachment.digest}]"


def descriptor(text: str) -> str | None:
    """The descriptor for a string of a request body, when it is a payload; None for other text.

    A payload is one a dialect read in this request (`reading()`), or any data URL or
    base64-looking string of LONG_PAYLOAD characters or more, wherever it is.
    """
    shared = _SHARED.get()
    if shared is not None:
        hit = shared.get(id(text))
        if hit is not None and hit[0] is text:
            return hit[1]
    if len(text) < LONG_PAYLOAD:
        return None
    if text.startswith("data:") and ";base64," in text[:512].lower():
        return describe(inline(text))
    if not (_looks_base64(text[:64]) and _looks_base64(text[-64:])):
        return None
    measured = _measure(text)
    if measured.size is None:
        return None
    mt = measured.sniffed or OCTET_STREAM
    return describe(Attachment(kind=kind_of(mt), media_type=mt, size=measured.size, digest=measured.digest))


def _looks_base64(sample: str) -> bool:
    return sample.isascii() and not sample.encode().translate(None, _ALPHABET + b"=\r\n")
