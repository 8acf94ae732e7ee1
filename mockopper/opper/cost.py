"""Cost: what an answered call costs in USD, from token counts and per-million-token prices.

cost = input tokens x input price + output tokens x output price, prices in USD per
million tokens: the fleet's `price:` for the model, else the built-in table of well-known
models below, else `DEFAULT_PRICE`. Embeddings cost their input only; a token count costs
nothing; a reply's `cost:` is reported as scripted. The arithmetic is decimal, rounded to
`PLACES` decimal places, so the same request costs the same on every machine.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from mockopper.answers import Answer
from mockopper.scenarios import Scenario

__all__ = ["DEFAULT_PRICE", "PLACES", "PRICES", "Ledger", "Price", "cost_of", "header_value", "price_of"]

PLACES = 10  # USD to 1e-10: a single token of the cheapest model listed here still shows


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


# List prices of well-known models (USD per million tokens, standard tier, short prompts).
PRICES: dict[str, Price] = {
    "openai/gpt-5.5": Price(1.25, 10.0),
    "openai/gpt-5.5-mini": Price(0.25, 2.0),
    "openai/gpt-5": Price(1.25, 10.0),
    "openai/gpt-5-mini": Price(0.25, 2.0),
    "openai/gpt-4.1": Price(2.0, 8.0),
    "openai/gpt-4o": Price(2.5, 10.0),
    "openai/gpt-4o-mini": Price(0.15, 0.6),
    "openai/o4-mini": Price(1.1, 4.4),
    "openai/text-embedding-3-small": Price(0.02, 0.0),
    "openai/text-embedding-3-large": Price(0.13, 0.0),
    "anthropic/claude-opus-4-6": Price(5.0, 25.0),
    "anthropic/claude-sonnet-4-6": Price(3.0, 15.0),
    "anthropic/claude-haiku-4-5": Price(1.0, 5.0),
    "gemini/gemini-2.5-pro": Price(1.25, 10.0),
    "gemini/gemini-2.5-flash": Price(0.3, 2.5),
    "gemini/gemini-2.5-flash-lite": Price(0.1, 0.4),
    "gemini/gemini-embedding-001": Price(0.15, 0.0),
    "mistral/mistral-large-latest": Price(2.0, 6.0),
    "mistral/mistral-small-latest": Price(0.1, 0.3),
}

# Any other model: a mid-range price, so that a cost display is never silently zero.
DEFAULT_PRICE = Price(1.0, 4.0)

_QUANTUM = Decimal(1).scaleb(-PLACES)
_MILLION = Decimal(1_000_000)


def price_of(scenario: Scenario, model: str) -> Price:
    """The model's price: its fleet entry (exact, then glob), else the built-in table, else the default."""
    spec = scenario.models.get(model)
    if spec is None:
        lowered = model.lower()
        for name, candidate in scenario.models.items():
            if any(ch in name for ch in "*?[") and fnmatch.fnmatchcase(lowered, name.lower()):
                spec = candidate
                break
    if spec is not None and spec.price is not None:
        return Price(spec.price.input, spec.price.output)
    return PRICES.get(model) or PRICES.get(model.lower()) or DEFAULT_PRICE


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def cost_of(answer: Answer, api: str, scenario: Scenario) -> float:
    """What the answer costs: scripted, or priced from its tokens at the reported model's price."""
    if answer.cost is not None:
        return float(_decimal(answer.cost).quantize(_QUANTUM, ROUND_HALF_EVEN))
    if api == "count_tokens":
        return 0.0
    price = price_of(scenario, answer.model)
    total = answer.input_tokens * _decimal(price.input)
    if api != "embeddings":
        total += answer.output_tokens * _decimal(price.output)
    return float((total / _MILLION).quantize(_QUANTUM, ROUND_HALF_EVEN))


def header_value(cost: float) -> str:
    """The `X-Opper-Cost` spelling: plain decimal notation, no exponent, no trailing zeros ("0.0000125", "0")."""
    text = format(_decimal(cost).quantize(_QUANTUM, ROUND_HALF_EVEN).normalize(), "f")
    return "0" if text == "-0" else text


class Ledger:
    """Costs worked out once: a server's memory of what a scenario's model charges for so many tokens.

    Decimal arithmetic is the slow part of pricing a call, and a test suite or load test asks
    the same few questions over and over. Bounded: past `size` answers it starts afresh.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._costs: dict[tuple[object, ...], tuple[Scenario, float]] = {}
        self._headers: dict[float, str] = {}

    def cost(self, answer: Answer, api: str, scenario: Scenario) -> float:
        """`cost_of(answer, api, scenario)`, worked out once per scenario, model, token counts and scripted cost."""
        key = (id(scenario), answer.model, answer.input_tokens, answer.output_tokens, api, answer.cost)
        known = self._costs.get(key)
        if known is not None and known[0] is scenario:  # the scenario itself, not one that took its id
            return known[1]
        value = cost_of(answer, api, scenario)
        if len(self._costs) >= self._size:
            self._costs.clear()
        self._costs[key] = (scenario, value)
        return value

    def header(self, value: float) -> str:
        """`header_value(value)`, worked out once per value."""
        known = self._headers.get(value)
        if known is None:
            if len(self._headers) >= self._size:
                self._headers.clear()
            known = self._headers[value] = header_value(value)
        return known
