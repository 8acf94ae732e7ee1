"""One module per API surface; `all_surfaces()` is the registry the app builds its routes from.

Where two surfaces share a path (GET /models is OpenAI's and Google's), the first one
listed answers unless a later one claims the request (Google's claim `x-goog-api-key`).
"""

from __future__ import annotations

from mockopper.dialects.base import Surface

__all__ = ["all_surfaces"]


def all_surfaces() -> list[Surface]:
    """A fresh instance of every surface, in route order."""
    from mockopper.dialects.openai import OpenAIModels
    from mockopper.dialects.openai_chat import ChatCompletions
    from mockopper.dialects.openai_embeddings import Embeddings
    from mockopper.dialects.openai_responses import Responses, ResponsesCompact
    from mockopper.dialects.openresponses import OpenResponses, OpenResponsesCompact

    return [
        ChatCompletions(),
        Responses(),
        ResponsesCompact(),
        OpenResponses(),
        OpenResponsesCompact(),
        Embeddings(),
        OpenAIModels(),
    ]
