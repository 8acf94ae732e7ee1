"""The ceiling for this stack: a bare Starlette app that returns a fixed chat completion.

Served by uvicorn with the same settings as `mockopper serve`; the streamed variant sends
the same number of chunks as mockopper's bench scenario, with no delay.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

TEXT = "Hello! This is a fixed answer from the benchmark scenario, long enough to stream in several chunks."
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 25, "total_tokens": 26},
    }
).encode()


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


async def chat(request: Request) -> Response:
    body = await request.json()
    if body.get("stream"):

        async def events():  # type: ignore[no-untyped-def]
            yield _chunk({"role": "assistant", "content": ""})
            for i in range(0, len(TEXT), 20):
                yield _chunk({"content": TEXT[i : i + 20]})
            yield _chunk({}, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    return Response(COMPLETION, media_type="application/json")


app = Starlette(routes=[Route("/v3/compat/chat/completions", chat, methods=["POST"])])
