"""What the pipeline keeps of a request it has seen before, byte for byte, so that seeing it again costs little.

Two of the pipeline's stages are pure functions of what they are given, and a test suite
or a load test sends the same requests over and over:

- *parse*: the same body, path and headers parse into the same conversation (unless the
  dialect read the session's history, as `previous_response_id` does: then it is not kept);
- *respond*: the same conversation and the same answer render into the same bytes, but for
  what varies from call to call: the ids and signatures made from the answer's key
  (`Answer.derived`).

A render asked for a second time is kept as a template: it is rendered once with
placeholders where the derived values go, cut into segments, and each later call splices its own values in. Before a
template is kept it is checked against an ordinary render of the same answer, byte for
byte; one that does not reproduce it exactly (a dialect that derived something outside
`Answer.derived`, a placeholder character in the content) is not kept, and that answer
renders the ordinary way every time. Nothing here changes a byte of any response.

Bounded: past `size` requests the least recently seen goes; each request keeps at most
`_RENDERS` renders (a reply with generated text renders anew every call, so its renders
are never reused and must not pile up). Bodies past `_MAX_BODY` bytes are not kept.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from typing import Any

from mockopper.answers import Answer
from mockopper.conversation import Conversation

__all__ = ["Entry", "Memo", "Template", "template"]

_MAX_BODY = 16 * 1024  # bytes of body past which a request is not kept
_RENDERS = 4  # renders kept per request
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters around a placeholder's number
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}".encode())
_UNSEEN, _ONCE = object(), object()


@dataclass(slots=True)
class Entry:
    """A request seen before: its conversation and journal form, and the renders of its answers."""

    conv: Conversation
    request_body: Any
    notes: tuple[str, ...]
    attachments: list[dict[str, Any]]
    # A render's template; None when it cannot be one, _ONCE when it has been asked for once.
    renders: OrderedDict[Hashable, Template | object | None] = field(default_factory=OrderedDict)
    # The engine's: which rules hold for a scenario and model, and answers that do not vary from call to call.
    holding: dict[Hashable, tuple[Any, ...]] = field(default_factory=dict)
    answers: dict[Hashable, Answer] = field(default_factory=dict)

    def render(self, key: Hashable, answer: Answer, render: Callable[[Answer], bytes]) -> bytes:
        """`render(answer)`, from the template kept for `key` once the same render is asked for again.

        The first time renders the ordinary way and only notes the key: most answers that
        are rendered once never come back (a reply that draws from Faker differs every call),
        and making a template costs two renders.
        """
        kept = self.renders.get(key, _UNSEEN)
        if kept is _UNSEEN:
            self.renders[key] = _ONCE
            while len(self.renders) > _RENDERS:
                self.renders.popitem(last=False)
            return render(answer)
        self.renders.move_to_end(key)
        if kept is _ONCE:
            kept = self.renders[key] = template(answer, render)
        return kept.splice(answer.key) if isinstance(kept, Template) else render(answer)

    def keep(self, kept: dict[Hashable, Any], key: Hashable, value: Any) -> None:
        """Keep `value` in one of the engine's maps (`holding`, `answers`), a handful per request."""
        if len(kept) >= _RENDERS:
            kept.pop(next(iter(kept)))
        kept[key] = value


class Memo:
    """The requests a server has seen, most recently seen last; thread-safe, bounded."""

    def __init__(self, size: int = 512) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._size = size

    @staticmethod
    def keyable(raw: bytes) -> bool:
        return len(raw) <= _MAX_BODY

    def get(self, key: Hashable) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class Template:
    """Rendered bytes with holes where an answer's derived values go: `splice(key)` fills them."""

    __slots__ = ("makers", "order", "segments")

    def __init__(self, segments: list[bytes], order: list[int], makers: list[Callable[[str], str]]) -> None:
        self.segments = segments  # one more than the holes
        self.order = order  # which value fills each hole (a value may fill several)
        self.makers = makers

    def splice(self, key: str) -> bytes:
        values = [make(key).encode() for make in self.makers]
        segments = self.segments
        parts = [segments[0]]
        for i, which in enumerate(self.order):
            parts.append(values[which])
            parts.append(segments[i + 1])
        return b"".join(parts)


class _Blank(Answer):
    """An answer whose derived values are placeholders, noting how each real value is made."""

    __slots__ = ("makers",)
    makers: list[Callable[[str], str]]

    def derived(self, make: Callable[[str], str]) -> str:
        self.makers.append(make)
        return f"{_OPEN}{len(self.makers) - 1}{_CLOSE}"


def template(answer: Answer, render: Callable[[Answer], bytes]) -> Template | None:
    """`render(answer)` as a template, checked against an ordinary render; None when it cannot be one."""
    blank = _Blank(**{f.name: getattr(answer, f.name) for f in fields(Answer)})
    blank.key = answer.key + "\x00another"  # a dialect reading the key itself renders differently: caught below
    blank.makers = []
    try:
        text = render(blank)
    except Exception:  # a dialect that could not render placeholders: render the ordinary way
        return None
    segments: list[bytes] = []
    order: list[int] = []
    start = 0
    for match in _PLACEHOLDER.finditer(text):
        which = int(match.group(1))
        if which >= len(blank.makers):
            return None
        segments.append(text[start : match.start()])
        order.append(which)
        start = match.end()
    segments.append(text[start:])
    if any(_OPEN.encode() in s or _CLOSE.encode() in s for s in segments):
        return None  # a placeholder character the pattern did not take: the content's own, or a cut one
    made = Template(segments, order, blank.makers)
    return made if made.splice(answer.key) == render(answer) else None
