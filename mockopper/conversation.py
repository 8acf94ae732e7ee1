"""The vendor-neutral view of a request that matching, templates and generation read.

Every dialect parses its own wire format into a `Conversation`; nothing outside the
dialects knows a vendor's field names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mockopper.attachments import Attachment

__all__ = [
    "Attachment",
    "Conversation",
    "Extras",
    "Message",
    "Tool",
    "ToolCallRef",
    "estimate_tokens",
]

Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCallRef:
    """A tool call the assistant made earlier in the conversation."""

    id: str
    name: str
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. A tool result is its own message with role `tool`."""

    role: Role
    text: str = ""
    tool_name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCallRef, ...] = ()
    attachments: tuple[Attachment, ...] = ()  # images, PDFs, audio and files, in order


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Extras:
    """Opper's extras, accepted on every surface."""

    fallback_models: tuple[str, ...] = ()
    tags: Mapping[str, Any] = field(default_factory=dict)
    span_uuid: str | None = None
    evaluate: bool | None = None


@dataclass(slots=True)
class Conversation:
    """A request as the scenario engine sees it."""

    api: str
    model: str
    messages: list[Message] = field(default_factory=list)
    system: str = ""
    tools: tuple[Tool, ...] = ()
    tool_choice: str = "auto"  # auto | none | required | function
    required_tool: str | None = None  # the named tool when tool_choice is "function"
    json_schema: Mapping[str, Any] | None = None  # the schema when structured output is asked for
    wants_json: bool = False  # structured output asked for (with or without a schema)
    prefill: str = ""  # the start of the answer, written by the client: the reply continues it
    stream: bool = False
    stream_usage: bool = False  # the client asked for usage inside the stream
    max_tokens: int | None = None
    choices: int = 1  # how many choices the answer is given in (OpenAI's `n`): each the same answer
    logprobs: int | None = None  # token log probabilities asked for, with this many alternatives each
    inputs: tuple[str, ...] = ()  # texts to embed or count
    dimensions: int | None = None
    extras: Extras = field(default_factory=Extras)
    headers: Mapping[str, str] = field(default_factory=dict)
    _digest: str | None = None

    # --- derived views used by matching and templates -------------------------------

    @property
    def chain(self) -> list[str]:
        """The model, then its fallbacks, without repeats."""
        out = [self.model]
        for m in self.extras.fallback_models:
            if m not in out:
                out.append(m)
        return out

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def last_user_text(self) -> str | None:
        """The last message's text when it is a user message with text."""
        last = self.last
        if last is not None and last.role == "user" and last.text:
            return last.text
        return None

    @property
    def last_tool_result(self) -> Message | None:
        last = self.last
        return last if last is not None and last.role == "tool" else None

    @property
    def tools_offered(self) -> tuple[Tool, ...]:
        """The tools the model may call (none when tool_choice is `none`)."""
        return () if self.tool_choice == "none" else self.tools

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """Every attachment in the conversation, in order."""
        return tuple(a for m in self.messages for a in m.attachments)

    @property
    def last_attachments(self) -> tuple[Attachment, ...]:
        """What the last user message carries, with the tool results that follow it.

        Anthropic sends tool results inside the user message, the other vendors as messages
        of their own: counting both keeps `match: {attachments: ...}` the same on every surface.
        """
        start = next((i for i in range(len(self.messages) - 1, -1, -1) if self.messages[i].role == "user"), -1)
        found = list(self.messages[start].attachments) if start >= 0 else []
        for m in self.messages[start + 1 :]:
            if m.role == "tool":
                found += m.attachments
        return tuple(found)

    @property
    def turn(self) -> int:
        return sum(1 for m in self.messages if m.role == "user" and m.text)

    def tool(self, name: str) -> Tool | None:
        for tool in self.tools:
            if tool.name == name:
                return tool
        return None

    @property
    def digest(self) -> str:
        """A stable hash of the request's content: what generated values derive from."""
        if self._digest is None:
            parts = [self.model, self.system, str(len(self.messages))]
            for m in self.messages:
                parts += (m.role, m.text, m.tool_name or "")
                parts += (a.identity for a in m.attachments)
                for call in m.tool_calls:
                    parts += (call.name, call.arguments)
            for tool in self.tools:
                parts += (tool.name, tool.description, _canonical(tool.parameters))
            if self.json_schema is not None:
                parts.append(_canonical(self.json_schema))
            parts += self.inputs
            if self.prefill:
                parts.append(self.prefill)
            parts.append(str(self.dimensions))
            blob = "\x1f".join(parts).encode("utf-8", "surrogatepass")
            self._digest = hashlib.blake2b(blob, digest_size=16).hexdigest()
        return self._digest

    def input_tokens(self) -> int:
        """Prompt size by the documented estimates: `estimate_tokens` for text, `Attachment.tokens` for the rest."""
        chars = len(self.system)
        for m in self.messages:
            chars += len(m.text)
            for call in m.tool_calls:
                chars += len(call.name) + len(call.arguments)
        for tool in self.tools:
            chars += len(tool.name) + len(tool.description)
            chars += len(json.dumps(tool.parameters, separators=(",", ":")))
        for text in self.inputs:
            chars += len(text)
        media = sum(a.tokens() for m in self.messages for a in m.attachments)
        return max(1, _ceil_div(chars, 4) + media)


def _canonical(value: Any) -> str:
    """JSON with sorted keys: the same schema hashes the same whichever client sent it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def estimate_tokens(text: str) -> int:
    """mockopper's token estimate: one token per four characters, rounded up."""
    return _ceil_div(len(text), 4)
