"""The recorder (`serve --record FILE`): each forwarded exchange becomes a rule in a scenario file.

A recorded rule matches the conversation, not the wire: the model (exactly), the last
user message (`equals`) or the tool whose result came last, the turn, and the system
text and tools when the request has them; no `api`, so a recording made through one SDK
replays through every other. Its reply is what the surface read back from the upstream's
answer (`exchange.Recorded`), with a stream's chunks and their offsets. The same
conversation answered again differently becomes one rule with `replies`, in order.

The file is rewritten after every exchange, atomically (a temporary file in the same
folder, then `os.replace`), so a killed server loses nothing. `--redact` patterns and
the caller's own credentials are replaced with `***` everywhere in it (`redaction.py`);
no header is ever written. Nothing here knows a vendor's wire format.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mockopper import templates
from mockopper.conversation import Conversation
from mockopper.exchange import Recorded, RecordedError
from mockopper.redaction import masks_for, recut, redact, text_condition
from mockopper.sse import compact_json

__all__ = ["Recorder", "RecordingError"]

_log = logging.getLogger("mockopper.record")
_GLOB = re.compile(r"([*?\[])")


class RecordingError(ValueError):
    """A file given to record into that cannot be read as an earlier recording."""


class Recorder:
    """Turns forwarded exchanges into rules and keeps `path` up to date with them.

    An existing file is extended (its rules kept, new exchanges merged in) unless `fresh`.
    """

    def __init__(
        self, path: str | Path, *, redact: Sequence[str] = (), fresh: bool = False, source: str | None = None
    ) -> None:
        self.path = Path(path)
        self.source = source
        try:
            self._patterns = [re.compile(p) for p in redact]
        except re.error as exc:
            raise RecordingError(f"--redact {exc.pattern!r} is not a regular expression: {exc}") from None
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []
        self._replies: dict[str, list[dict[str, Any]]] = {}  # match key -> every reply recorded, in order
        self._header: dict[str, Any] = {"name": self.path.stem}
        if source:
            self._header["description"] = f"Recorded by mockopper from {source}."
        self.written = 0  # rules in the file after the last write that succeeded
        if not fresh and self.path.exists():
            self._read()

    def _read(self) -> None:
        from mockopper.loader import ScenarioError, load_file

        try:
            load_file(self.path)
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (ScenarioError, OSError, yaml.YAMLError) as exc:
            raise RecordingError(
                f"{self.path} cannot be extended: it is not a readable scenario file.\n{exc}"
            ) from None
        for key in ("name", "description", "seed", "clock"):
            if key in data:
                self._header[key] = data[key]
        for rule in data.get("rules") or []:
            key = _key(rule.get("match") or {})
            self._rules.append(rule)
            self._replies[key] = [rule["reply"]] if "reply" in rule else list(rule.get("replies") or [])

    # --- recording --------------------------------------------------------------------

    def record(self, conv: Conversation, reply: Recorded, secrets: Sequence[str] = ()) -> dict[str, Any]:
        """Add one exchange (the request's conversation and the reply read back) and rewrite the file."""
        masks = masks_for(secrets, self._patterns)
        match = self._match(conv, masks)
        entry = self._reply(conv, reply, masks)
        key = _key(match)
        with self._lock:
            history = self._replies.get(key)
            if history is None:
                rule: dict[str, Any] = {"name": _name(conv, masks), "match": match, "reply": entry}
                self._replies[key] = [entry]
                self._insert(rule)
            else:
                history.append(entry)
                rule = next(r for r in self._rules if _key(r.get("match") or {}) == key)
                _set_replies(rule, history)
            self._write()
        return rule

    def _insert(self, rule: dict[str, Any]) -> None:
        """Append, but ahead of an earlier rule that would answer this one's requests first (fewer conditions)."""
        conditions = rule["match"].items()
        for i, other in enumerate(self._rules):
            theirs = (other.get("match") or {}).items()
            if theirs < conditions:  # a proper subset: the earlier rule shadows this one
                self._rules.insert(i, rule)
                return
        self._rules.append(rule)

    def _match(self, conv: Conversation, masks: Sequence[re.Pattern[str]]) -> dict[str, Any]:
        match: dict[str, Any] = {"model": _GLOB.sub(r"[\1]", conv.model)}
        result = conv.last_tool_result
        if result is not None:
            match["tool_result"] = result.tool_name or True
        elif conv.last_user_text is not None:
            match["message"] = text_condition(conv.last_user_text, masks)
        match["turn"] = conv.turn
        if conv.system:
            match["system"] = text_condition(conv.system, masks)
        if conv.tools:
            match["tools"] = [tool.name for tool in conv.tools]
        return match

    def _reply(self, conv: Conversation, recorded: Recorded, masks: Sequence[re.Pattern[str]]) -> dict[str, Any]:
        if recorded.error is not None and recorded.error_after is None:
            return {"error": _error(recorded.error, masks)}
        if recorded.dropped and recorded.pieces is None:
            return {"text": "", "fault": {"disconnect_after": 0}}  # a body that never came
        sections = _Sections(recorded, masks)
        reply: dict[str, Any] = {}
        if recorded.reasoning:
            reply["reasoning"] = templates.escape(sections.reasoning)
        value = _structured(sections.text) if conv.wants_json and not recorded.tool_calls else None
        if value is not None:
            reply["json"] = _escape_values(value)
        elif sections.text or not recorded.tool_calls:
            reply["text"] = templates.escape(sections.text)
        if recorded.tool_calls:
            reply["tool_calls"] = [
                {
                    "name": call.name,
                    **({"id": call.id} if call.id else {}),
                    "arguments": _arguments(arguments),
                }
                for call, arguments in zip(recorded.tool_calls, sections.arguments, strict=True)
            ]
        if recorded.finish_reason and not recorded.dropped:
            reply["finish_reason"] = recorded.finish_reason
        usage = {
            k: v
            for k, v in (("input_tokens", recorded.input_tokens), ("output_tokens", recorded.output_tokens))
            if v is not None
        }
        if usage and not (recorded.dropped or recorded.truncated):
            reply["usage"] = usage
        if recorded.model:
            reply["model"] = recorded.model
        stream = sections.stream()
        if stream is not None:
            reply["stream"] = stream
        count = len(recorded.pieces or ())
        if recorded.error is not None and recorded.error_after is not None:
            reply["fault"] = {"error_after": recorded.error_after, "error": _error(recorded.error, masks)}
        elif recorded.dropped:
            reply["fault"] = {"disconnect_after": count}
        elif recorded.truncated:
            reply["fault"] = {"truncate_after": count}
        return reply

    # --- the file ---------------------------------------------------------------------

    def _write(self) -> None:
        document = {**self._header, "rules": self._rules}
        text = "# Recorded by mockopper: replay it with `mockopper serve --scenario FILE`.\n" + yaml.dump(
            document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )
        folder = self.path.parent
        temporary = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=folder, prefix=f".{self.path.name}.", suffix=".tmp", delete=False
            ) as handle:
                temporary = handle.name
                handle.write(text)
            os.replace(temporary, self.path)
            temporary = None
            self.written = len(self._rules)
        except OSError as exc:
            _log.error(
                "mockopper: cannot write the recording %s: %s; forwarding goes on.", self.path, exc.strerror or exc
            )
        finally:
            if temporary is not None:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass

    def skip(self, where: str, reason: str) -> None:
        """Say, in one line, that an exchange was passed on but not recorded."""
        _log.warning("mockopper: the answer to %s was passed on but not recorded: %s.", where, reason.rstrip("."))

    @property
    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            copied: list[dict[str, Any]] = json.loads(json.dumps(self._rules))
            return copied


class _Sections:
    """A reply's reasoning, text and tool-call arguments after redaction, with the stream's chunks cut to match."""

    def __init__(self, recorded: Recorded, masks: Sequence[re.Pattern[str]]) -> None:
        self.masks = masks
        parts: list[str | int] = ["reasoning", "text", *range(len(recorded.tool_calls))]
        originals = [recorded.reasoning, recorded.text, *(c.arguments for c in recorded.tool_calls)]
        pieces = recorded.pieces
        # Replay streams reasoning, then text, then each call's arguments; a chunk that arrived
        # out of that order goes out no earlier than the one before it.
        self.chunks: list[tuple[list[str], list[float]]] | None = None
        if pieces is not None:
            grouped: dict[str | int, list[tuple[str, float]]] = {part: [] for part in parts}
            for piece in pieces:
                if piece.part in grouped:
                    grouped[piece.part].append((piece.text, piece.at_ms))
            self.chunks = []
            for part, original in zip(parts, originals, strict=True):
                group = grouped[part]
                if "".join(text for text, _ in group) != original:
                    self.chunks = None  # the deltas do not spell the final answer: no chunks are kept
                    break
                self.chunks.append(([t for t, _ in group], [a for _, a in group]))
        redacted = [redact(text, masks) for text in originals]
        if self.chunks is not None:
            self.chunks = [
                recut(c, a, original, masks) for (c, a), original in zip(self.chunks, originals, strict=True)
            ]
        self.reasoning, self.text, *self.arguments = [text for text, _ in redacted]

    def stream(self) -> dict[str, Any] | None:
        if self.chunks is None:
            return None
        chunks: list[str] = []
        at: list[float] = []
        latest = 0.0
        for pieces, offsets in self.chunks:
            for piece, offset in zip(pieces, offsets, strict=True):
                latest = max(latest, offset)
                chunks.append(piece)
                at.append(round(latest, 1))
        return {"chunks": chunks, "at_ms": at} if chunks else None


def _error(error: RecordedError, masks: Sequence[re.Pattern[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"status": error.status}
    if error.type:
        out["type"] = error.type
    if error.message:
        out["message"] = templates.escape(redact(error.message, masks)[0])
    if error.code:
        out["code"] = error.code
    if error.retry_after is not None:
        out["retry_after"] = error.retry_after
    if error.should_retry is not None:
        out["should_retry"] = error.should_retry
    return out


def _structured(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _arguments(text: str) -> Any:
    """Arguments as an object when that replays as the same text, else exactly as they came."""
    try:
        value = json.loads(text)
    except ValueError:
        return templates.escape(text)
    if isinstance(value, dict) and compact_json(value) == text:
        return _escape_values(value)
    return templates.escape(text)


def _escape_values(value: Any) -> Any:
    if isinstance(value, str):
        return templates.escape(value)
    if isinstance(value, dict):
        return {k: _escape_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_values(v) for v in value]
    return value


def _name(conv: Conversation, masks: Sequence[re.Pattern[str]]) -> str:
    result = conv.last_tool_result
    said = (
        f"after {result.tool_name or 'a tool'}"
        if result
        else redact(" ".join((conv.last_user_text or "").split()), masks)[0]
    )
    said = said if len(said) <= 60 else said[:59] + "…"
    return f"{conv.model} turn {conv.turn}: {said}" if said else f"{conv.model} turn {conv.turn}"


def _key(match: dict[str, Any]) -> str:
    return json.dumps(match, sort_keys=True, ensure_ascii=False)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two replies alike but for their timing."""

    def untimed(reply: dict[str, Any]) -> dict[str, Any]:
        stream = reply.get("stream")
        if isinstance(stream, dict):
            return {**reply, "stream": {k: v for k, v in stream.items() if k != "at_ms"}}
        return reply

    return untimed(a) == untimed(b)


def _set_replies(rule: dict[str, Any], history: list[dict[str, Any]]) -> None:
    """`reply`, or `replies` in order; trailing repeats are left out (the last entry repeats anyway)."""
    entries = list(history)
    while len(entries) > 1 and _same(entries[-1], entries[-2]):
        entries.pop()
    rule.pop("reply", None)
    rule.pop("replies", None)
    if len(entries) == 1:
        rule["reply"] = entries[0]
    else:
        rule["replies"] = entries


class _Dumper(yaml.SafeDumper):
    """Block style for text with line breaks; everything else as PyYAML writes it."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not value.endswith((" ", "\t")) and "\r" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _string)
