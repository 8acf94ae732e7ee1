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

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from mockopper import media
from mockopper.media import OCTET_STREAM, Kind, kind_of, media_type_of

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

Source = Literal["inline", "url", "file_id"]
KINDS: tuple[Kind, ...] = ("image", "pdf", "audio", "file")

# The token estimate (documented in the README beside the text estimate): fixed figures, no tokenizer.
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
            stated = media.clean(header)
            start = comma + 1
            if not header.lower().endswith(";base64"):
                return _percent_encoded(data, start, stated or media.clean(media_type), filename, kind)
    measured = media.measure(data, start)
    mt = stated or media.clean(media_type) or media_type_of(filename) or measured.sniffed or OCTET_STREAM
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
        kind=_kind(mt, kind), media_type=mt, size=len(payload), digest=media.digest(payload), filename=filename
    )


def text_document(text: str, media_type: str | None = None, filename: str | None = None) -> Attachment:
    """A document sent as plain text (its size is its UTF-8 length)."""
    encoded = text.encode("utf-8", "surrogatepass")
    mt = media.clean(media_type) or "text/plain"
    return Attachment(
        kind=kind_of(mt), media_type=mt, size=len(encoded), digest=media.digest(encoded), filename=filename
    )


def linked(
    url: str, media_type: str | None = None, filename: str | None = None, kind: Kind | None = None
) -> Attachment:
    """A URL (a data URL is inline data); the media type from the vendor's field, else the path's extension."""
    if url.startswith("data:"):
        return inline(url, media_type, filename, kind)
    mt = media.clean(media_type) or media_type_of(filename) or media_type_of(url) or OCTET_STREAM
    return Attachment(kind=_kind(mt, kind), media_type=mt, source="url", url=_short(url), filename=filename)


def by_file_id(
    file_id: str, media_type: str | None = None, filename: str | None = None, kind: Kind | None = None
) -> Attachment:
    """A file uploaded earlier and named by its id."""
    mt = media.clean(media_type) or media_type_of(filename) or OCTET_STREAM
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
    if not (media.looks_base64(text[:64]) and media.looks_base64(text[-64:])):
        return None
    measured = media.measure(text)
    if measured.size is None:
        return None
    mt = measured.sniffed or OCTET_STREAM
    return describe(Attachment(kind=kind_of(mt), media_type=mt, size=measured.size, digest=measured.digest))
