"""Opper's models list, `GET /v3/models`: the fleet (or the catalogue) in the `ModelsResponse` shape.

The models are those every models list shows (`fleet.fleet`): the scenario's `models:`,
else the built-in catalogue plus the models its rules name. Each gets the fields Opper's
schema requires; what the catalogue knows (type, context window) comes from `FACTS`, its
price from `cost.price_of`, and everything else is derived from its id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockopper.fleet import ModelInfo
from mockopper.opper import cost
from mockopper.scenarios import Scenario

__all__ = ["DEFAULT_LIMIT", "FACTS", "Facts", "QueryError", "models_body", "query_integer"]

DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Facts:
    type: str  # llm | embedding
    context_window: int


FACTS: dict[str, Facts] = {
    "openai/gpt-5.5": Facts("llm", 400_000),
    "openai/gpt-5.5-mini": Facts("llm", 400_000),
    "openai/gpt-5": Facts("llm", 400_000),
    "openai/gpt-5-mini": Facts("llm", 400_000),
    "openai/gpt-4.1": Facts("llm", 1_047_576),
    "openai/gpt-4o": Facts("llm", 128_000),
    "openai/gpt-4o-mini": Facts("llm", 128_000),
    "openai/o4-mini": Facts("llm", 200_000),
    "openai/text-embedding-3-small": Facts("embedding", 8_191),
    "openai/text-embedding-3-large": Facts("embedding", 8_191),
    "anthropic/claude-opus-4-6": Facts("llm", 200_000),
    "anthropic/claude-sonnet-4-6": Facts("llm", 200_000),
    "anthropic/claude-haiku-4-5": Facts("llm", 200_000),
    "gemini/gemini-2.5-pro": Facts("llm", 1_048_576),
    "gemini/gemini-2.5-flash": Facts("llm", 1_048_576),
    "gemini/gemini-2.5-flash-lite": Facts("llm", 1_048_576),
    "gemini/gemini-embedding-001": Facts("embedding", 2_048),
    "mistral/mistral-large-latest": Facts("llm", 128_000),
    "mistral/mistral-small-latest": Facts("llm", 128_000),
}

_PROVIDERS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google",
    "gcp": "Google",
    "google": "Google",
    "mistral": "Mistral AI",
    "azure": "Microsoft Azure",
    "aws": "Amazon Bedrock",
    "groq": "Groq",
    "xai": "xAI",
}
_CAPABILITIES = {
    "llm": ["chat", "streaming", "tools", "structured_output"],
    "embedding": ["embeddings"],
}
_SMALL = ("mini", "flash", "lite", "haiku", "small", "nano")
_SORTS = ("id", "name", "provider", "type", "cost", "context_window")


class QueryError(ValueError):
    """A query parameter a `/v3` list refuses; `param` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _facts(model_id: str) -> Facts:
    known = FACTS.get(model_id)
    if known is not None:
        return known
    return Facts("embedding" if "embed" in model_id.lower() else "llm", 128_000)


def _entry(model: ModelInfo, scenario: Scenario) -> dict[str, Any]:
    facts = _facts(model.id)
    provider, _, model_id = model.id.rpartition("/")
    provider = provider or model.owned_by
    price = cost.price_of(scenario, model.id)
    small = facts.type == "embedding" or any(word in model_id.lower() for word in _SMALL)
    shown = _PROVIDERS.get(provider.lower(), provider.title())
    return {
        "id": model.id,
        "type": facts.type,
        "provider": provider,
        "provider_display_name": shown,
        "name": model.display_name,
        "model_id": model_id,
        "capabilities": list(_CAPABILITIES[facts.type]),
        "speed": "fast" if small else "medium",
        "cost": price.input,
        "quality": "medium" if small else "high",
        "context_window": facts.context_window,
        "description": f"{model.display_name} ({shown}), simulated by mockopper.",
        "pricing": {"input": [price.input], "output": [price.output]},
        "aliases": [],
        "api_type": "embeddings" if facts.type == "embedding" else "chat",
    }


def query_integer(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    """The integer query parameter `name` (`default` when absent), at least `low`; a QueryError otherwise."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(name, f"Invalid query parameter '{name}': expected an integer, got {raw!r}.") from None
    if value < low:
        raise QueryError(name, f"Invalid query parameter '{name}': expected at least {low}, got {value}.")
    return value


def models_body(models: Sequence[ModelInfo], scenario: Scenario, query: Mapping[str, str]) -> dict[str, Any]:
    """`{models, total, offset, limit}` for the query's filters (type, provider, q, capability, deprecated, sort)."""
    limit = query_integer(query, "limit", DEFAULT_LIMIT, 1)
    offset = query_integer(query, "offset", 0, 0)
    entries = [_entry(m, scenario) for m in models]
    kind, provider, q = query.get("type"), query.get("provider"), (query.get("q") or "").lower()
    if kind:
        entries = [e for e in entries if e["type"] == kind.lower()]
    if provider:
        entries = [e for e in entries if e["provider"].lower() == provider.lower()]
    if q:
        entries = [e for e in entries if q in e["id"].lower() or q in e["name"].lower()]
    capability = query.get("capability")
    if capability:
        entries = [e for e in entries if capability in e["capabilities"]]
    if query.get("deprecated", "").lower() in ("true", "1"):
        entries = []  # nothing simulated here is deprecated
    sort = query.get("sort")
    if sort:
        if sort not in _SORTS:
            raise QueryError("sort", f"Invalid query parameter 'sort': {sort!r}; expected one of {', '.join(_SORTS)}.")
        entries.sort(key=lambda e: e[sort], reverse=query.get("order", "asc").lower() == "desc")
    return {"models": entries[offset : offset + limit], "total": len(entries), "offset": offset, "limit": limit}
