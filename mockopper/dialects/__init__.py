"""One module per API surface; `all_surfaces()` is the registry the app builds its routes from.

Where two surfaces share a path (GET /models is OpenAI's and Google's, GET /v1/models
Anthropic's and Google's), the first one listed answers unless a later one claims the
request (Google's claim `x-goog-api-key`).
"""

from __future__ import annotations

from mockopper.dialects.base import Surface

__all__ = ["all_surfaces"]


def all_surfaces() -> list[Surface]:
    """A fresh instance of every surface, in route order."""
    from mockopper.dialects.anthropic import AnthropicModels, CountTokens, Messages
    from mockopper.dialects.gemini import GeminiCountTokens, GeminiGenerate
    from mockopper.dialects.gemini_embed import GeminiEmbed
    from mockopper.dialects.google_models import GoogleModels
    from mockopper.dialects.interactions import Interactions
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
        Messages(),
        CountTokens(),
        AnthropicModels(),
        GeminiGenerate(),
        GeminiCountTokens(),
        GeminiEmbed(),
        Interactions(),
        # Shares GET /models and GET /v1/models: listed after the others, it answers what it claims.
        GoogleModels(),
    ]
