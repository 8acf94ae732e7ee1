"""The simulated fleet as the models lists show it: the scenario's `models:`, or a catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from mockopper.scenarios import Scenario

__all__ = ["CATALOGUE", "ModelInfo", "fleet"]

# Current provider-prefixed models, listed when a scenario declares no fleet of its own.
CATALOGUE: tuple[tuple[str, str], ...] = (
    ("openai/gpt-5.5", "GPT-5.5"),
    ("openai/gpt-5.5-mini", "GPT-5.5 mini"),
    ("openai/gpt-5", "GPT-5"),
    ("openai/gpt-5-mini", "GPT-5 mini"),
    ("openai/gpt-4.1", "GPT-4.1"),
    ("openai/gpt-4o", "GPT-4o"),
    ("openai/gpt-4o-mini", "GPT-4o mini"),
    ("openai/o4-mini", "o4-mini"),
    ("openai/text-embedding-3-small", "text-embedding-3-small"),
    ("openai/text-embedding-3-large", "text-embedding-3-large"),
    ("anthropic/claude-opus-4-6", "Claude Opus 4.6"),
    ("anthropic/claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("anthropic/claude-haiku-4-5", "Claude Haiku 4.5"),
    ("gemini/gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("gemini/gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini/gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite"),
    ("gemini/gemini-embedding-001", "Gemini Embedding 001"),
    ("mistral/mistral-large-latest", "Mistral Large"),
    ("mistral/mistral-small-latest", "Mistral Small"),
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model as the models lists show it."""

    id: str
    display_name: str
    created: int
    owned_by: str = "opper"


def _is_glob(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def _display(model_id: str) -> str:
    return model_id.split("/", 1)[-1]


def fleet(scenario: Scenario, created: int) -> list[ModelInfo]:
    """The models a scenario lists: its fleet, else the catalogue plus every model its rules name."""
    named = [name for name in scenario.models if not _is_glob(name)]
    if named:
        return [
            ModelInfo(name, scenario.models[name].display_name or _display(name), created, name.split("/")[0])
            for name in named
        ]
    out = [ModelInfo(mid, display, created, mid.split("/")[0]) for mid, display in CATALOGUE]
    seen = {m.id for m in out}
    for rule in scenario.rules:
        models = rule.match.model
        for name in [models] if isinstance(models, str) else models or []:
            if not _is_glob(name) and name not in seen:
                seen.add(name)
                out.append(ModelInfo(name, _display(name), created, name.split("/")[0] if "/" in name else "opper"))
    return out
