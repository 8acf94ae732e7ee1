"""A rule's reply rendered into an `Answer`: what its templates see (`Context`), its text, JSON
and tool calls (scripted, or generated from the request's schemas), a recorded stream's
chunks, and the token counts.

Rendering draws only on the request, the reply and the answer's key, so the same request
against the same scenario renders the same answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mockopper import fakes, formats
from mockopper.answers import DEFAULT_PACING, Answer, ToolCall
from mockopper.conversation import Conversation, estimate_tokens
from mockopper.lorem import Fake
from mockopper.matching import OPT_IN_APIS
from mockopper.pacing import chunk_arguments
from mockopper.replies import Reply, StreamSpec
from mockopper.schema_instances import schema_instance
from mockopper.sse import compact_json
from mockopper.templates import compile_template

__all__ = ["Context", "Renderer", "Unanswerable"]

DEFAULT_DIMENSIONS = 1536


class Context:
    """What templates see while one reply renders."""

    __slots__ = ("_faker", "_seeded", "call", "conv", "drawn", "key", "model", "seed")

    def __init__(
        self, conv: Conversation, model: str, call: int, key: str, seed: int, faker: Callable[[], Any]
    ) -> None:
        self.conv = conv
        self.model = model
        self.call = call
        self.key = key
        self.seed = seed
        self._faker = faker
        self._seeded: Any = None
        self.drawn = False  # the reply read what differs from call to call: the call count, Faker, random draws

    @property
    def fake(self) -> Any:
        """Faker, seeded for this reply: lorem text drawn without it, any other method by the renderer's Faker
        (replies render one at a time, on the event loop)."""
        self.drawn = True
        if self._seeded is None:
            self._seeded = Fake(fakes.derive(self.key, "faker"), self._faker)
        return self._seeded

    def lookup(self, path: tuple[str, ...]) -> Any:
        conv = self.conv
        root = path[0]
        if root == "call":
            self.drawn = True
            return self.call
        if root == "tool_result":
            result = conv.last_tool_result
            return result.text if result else ""
        if root == "tool_name":
            result = conv.last_tool_result
            return (result.tool_name or "") if result else ""
        name = path[1]
        if name == "model":
            return self.model
        if name == "requested_model":
            return conv.model
        if name == "message":
            return conv.last_user_text or ""
        if name == "system":
            return conv.system
        if name == "api":
            return conv.api
        if name == "turn":
            return conv.turn
        if name == "stream":
            return conv.stream
        if name == "tags":
            tags = dict(conv.extras.tags)
            return tags.get(path[2]) if len(path) > 2 else tags
        if name == "attachments":
            return [a.to_dict() for a in conv.last_attachments]
        if name == "attachment":
            found = conv.last_attachments
            first = found[0].to_dict() if found else None
            return first if len(path) == 2 or first is None else first[path[2]]
        return ""

    def faker(self, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return getattr(self.fake, provider)(*args, **kwargs)
        except Exception as exc:  # arguments this provider refuses: the scenario's mistake, answered as one
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise Unanswerable(f"faker.{provider}({shown}) failed: {exc}") from None


def _render_json(value: Any, ctx: Context) -> Any:
    if isinstance(value, str):
        return compile_template(value).render_value(ctx)
    if isinstance(value, dict):
        return {k: _render_json(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, ctx) for v in value]
    return value


def _dumps(value: Any) -> str:
    return compact_json(value)


class Renderer:
    """Renders replies into answers. It holds the one Faker its templates draw from, reseeded for each reply."""

    def __init__(self) -> None:
        self._faker: Any = None

    def _fake(self) -> Any:
        """One Faker per renderer (making one costs about a millisecond); each reply reseeds it."""
        if self._faker is None:
            from faker import Faker

            self._faker = Faker()
        return self._faker

    def context(self, conv: Conversation, model: str, call: int, key: str, seed: int) -> Context:
        """What the templates of the reply with this key see, for `call`, the rule's use that it answers."""
        return Context(conv, model, call, key, seed, self._fake)

    @staticmethod
    def generated(conv: Conversation, model: str, *, seed: int, created: int) -> Answer:
        """The answer to a request no rule matched, on a surface that needs none (embeddings, count_tokens)."""
        key = f"{seed}|generated|{conv.digest}"
        answer = Answer(key=key, model=model, created=created, input_tokens=conv.input_tokens(), seed=seed)
        if conv.api == "embeddings":
            answer.vectors = _vectors(conv, seed)
        return answer

    def render(self, conv: Conversation, model: str, reply: Reply, ctx: Context, *, created: int) -> Answer:
        """The rule's reply to this request as an answer, `created` at the scenario clock's time."""
        pacing = reply.stream or DEFAULT_PACING
        answer = Answer(
            key=ctx.key,
            model=reply.model or model,
            created=created,
            pacing=pacing,
            fault=reply.fault,
            delay_ms=reply.delay_ms or 0,
            seed=ctx.seed,
            cost=reply.cost,
        )
        rng = _LazyRandom(ctx.key)
        if conv.api in OPT_IN_APIS:
            if conv.api == "embeddings":
                answer.vectors = _vectors(conv, ctx.seed)
            answer.input_tokens = conv.input_tokens()
        elif reply.json_value is not None:
            if reply.json_value == "auto":
                # the request's schema; without one, what the prompt lays out (see `formats`)
                fmt = formats.requested(conv)
                schema = fmt.schema if fmt is not None else formats.ANY_OBJECT
                value = schema_instance(schema, rng, ctx.fake, answer.created)
            else:
                value = _render_json(reply.json_value, ctx)
            answer.text = _dumps(value)
            answer.structured = True
        else:
            fmt = formats.requested(conv) if reply.format == "auto" else None
            if fmt is not None:
                answer.text = formats.render(fmt, schema_instance(fmt.schema, rng, ctx.fake, answer.created))
                answer.structured = fmt.kind == "json"
            elif reply.text is not None:
                answer.text = compile_template(reply.text).render(ctx)
            if reply.tool_calls is not None:
                answer.tool_calls = self._tool_calls(conv, reply, ctx, rng, pacing, answer.created)
        if conv.prefill:
            answer.text = _continuing(answer.text, conv.prefill)
        if reply.reasoning is not None:
            answer.reasoning = compile_template(reply.reasoning).render(ctx)
        if pacing.recorded:
            self._replay_chunks(answer, reply, pacing)
        answer.finish_reason = reply.finish_reason or ("tool_calls" if answer.tool_calls else "stop")
        usage = reply.usage
        answer.input_tokens = usage.input_tokens if usage and usage.input_tokens is not None else (conv.input_tokens())
        if usage and usage.output_tokens is not None:
            answer.output_tokens = usage.output_tokens
        else:
            answer.output_tokens = (
                estimate_tokens(answer.text)
                + estimate_tokens(answer.reasoning)
                + sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in answer.tool_calls)
            )
        ctx.drawn = ctx.drawn or rng.drawn
        return answer

    @staticmethod
    def _replay_chunks(answer: Answer, reply: Reply, pacing: StreamSpec) -> None:
        """Cut a recorded stream's chunks into the answer's parts (the scenario check made sure they fit)."""
        lengths: list[int | None] = []
        if reply.reasoning is not None:
            lengths.append(len(answer.reasoning))
        if reply.json_value is not None:
            lengths.append(None)
        elif reply.text is not None:
            lengths.append(len(answer.text))
        lengths += [len(call.arguments) for call in answer.tool_calls]
        sections = pacing.split(lengths)
        if sections is None:
            return  # cannot happen for a checked scenario: fall back to generated chunking
        parts = iter(sections)
        if reply.reasoning is not None:
            answer.recorded_reasoning = next(parts)
        if reply.json_value is not None or reply.text is not None:
            answer.recorded_text = next(parts)
            if reply.json_value is not None:
                answer.text = "".join(answer.recorded_text[0])  # the JSON exactly as it was streamed
        answer.tool_calls = tuple(
            replace(call, chunks=chunks, at_ms=at) for call, (chunks, at) in zip(answer.tool_calls, parts, strict=False)
        )

    def _tool_calls(
        self, conv: Conversation, reply: Reply, ctx: Context, rng: random.Random, pacing: StreamSpec, now: int
    ) -> tuple[ToolCall, ...]:
        calls: list[ToolCall] = []
        if reply.tool_calls == "auto":
            offered = conv.tools_offered
            name = conv.required_tool or (offered[0].name if offered else None)
            if name is None:
                raise Unanswerable(
                    "it replies with 'tool_calls: auto', but the request offers no tools"
                    + (" (tool_choice is 'none')" if conv.tools else "")
                )
            specs: list[tuple[str, Any, str | None]] = [(name, "auto", None)]
        else:
            assert isinstance(reply.tool_calls, list)
            specs = [(c.name, c.arguments, c.id) for c in reply.tool_calls]
        for name, arguments, call_id in specs:
            if arguments == "auto":
                tool = conv.tool(name)
                value = schema_instance(tool.parameters if tool else {"type": "object"}, rng, ctx.fake, now)
                text = _dumps(value)
            elif isinstance(arguments, str):
                text = compile_template(arguments).render(ctx)
            else:
                text = _dumps(_render_json(arguments, ctx))
            calls.append(ToolCall(name=name, arguments=text, chunks=chunk_arguments(text, pacing), id=call_id))
        return tuple(calls)


class _LazyRandom(random.Random):
    """A Random seeded from an answer's key on first use: most replies never draw."""

    def __init__(self, key: str) -> None:  # no super().__init__(): seeding is what costs
        self._key = key
        self._seeded = False
        self.gauss_next = None

    def random(self) -> float:
        self._seed()
        return super().random()

    def getrandbits(self, k: int) -> int:
        self._seed()
        return super().getrandbits(k)

    @property
    def drawn(self) -> bool:
        return self._seeded

    def _seed(self) -> None:
        if not self._seeded:
            self._seeded = True
            self.seed(fakes.derive(self._key, "json"))


def _continuing(text: str, prefill: str) -> str:
    """The reply after the client's prefill: the part the prefill already wrote is not repeated."""
    for start in (prefill, prefill.strip()):
        if start and text.startswith(start):
            return text[len(start) :]
    return text


class Unanswerable(Exception):
    """A rule's reply does not fit the request (say, `tool_calls: auto` with no tools)."""


def _vectors(conv: Conversation, seed: int) -> tuple[list[float], ...]:
    dims = conv.dimensions or DEFAULT_DIMENSIONS
    return tuple(fakes.embedding(text, dims, seed) for text in conv.inputs)
