"""Every `match` condition, driven through the OpenAI SDK."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from mockopper.plugin import Mockopper

TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
OTHER_TOOL = {"type": "function", "function": {"name": "other", "parameters": {"type": "object", "properties": {}}}}


def ask(client: openai.OpenAI, **kwargs: Any) -> str:
    kwargs.setdefault("model", "openai/gpt-5.5")
    kwargs.setdefault("messages", [{"role": "user", "content": "hello"}])
    if kwargs.get("stream"):
        return "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**kwargs))
    return client.chat.completions.create(**kwargs).choices[0].message.content or ""


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (name, match, a request that matches, one that does not)
    ("api", {"api": "chat"}, {}, {}),
    ("model glob", {"model": "openai/*"}, {}, {"model": "anthropic/claude-sonnet-4-6"}),
    ("model list", {"model": ["x/*", "anthropic/*"]}, {"model": "anthropic/claude-sonnet-4-6"}, {}),
    ("message substring, any case", {"message": "HELLO"}, {}, {"messages": [{"role": "user", "content": "bye"}]}),
    ("message equals", {"message": {"equals": "hello"}}, {}, {"messages": [{"role": "user", "content": "hello you"}]}),
    ("message regex", {"message": {"regex": "^h.l+o$"}}, {}, {"messages": [{"role": "user", "content": "oh hello"}]}),
    (
        "message startswith",
        {"message": {"startswith": "hel"}},
        {},
        {"messages": [{"role": "user", "content": "oh hello"}]},
    ),
    (
        "system",
        {"system": "pirate"},
        {"messages": [{"role": "system", "content": "Talk like a pirate."}, {"role": "user", "content": "hi"}]},
        {"messages": [{"role": "system", "content": "Be formal."}, {"role": "user", "content": "hi"}]},
    ),
    (
        "developer counts as system",
        {"system": "pirate"},
        {"messages": [{"role": "developer", "content": "pirate"}, {"role": "user", "content": "hi"}]},
        {},
    ),
    (
        "any_message",
        {"any_message": "secret"},
        {
            "messages": [
                {"role": "user", "content": "the secret"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "go on"},
            ]
        },
        {},
    ),
    ("tools named", {"tools": ["lookup"]}, {"tools": [TOOL, OTHER_TOOL]}, {"tools": [OTHER_TOOL]}),
    ("tools true", {"tools": True}, {"tools": [TOOL]}, {}),
    ("tool_choice none offers no tools", {"tools": True}, {"tools": [TOOL]}, {"tools": [TOOL], "tool_choice": "none"}),
    ("tools false", {"tools": False}, {}, {"tools": [TOOL]}),
    (
        "turn",
        {"turn": 2},
        {
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
            ]
        },
        {},
    ),
    ("json_schema", {"json_schema": True}, {"response_format": {"type": "json_object"}}, {}),
    ("json_schema false", {"json_schema": False}, {}, {"response_format": {"type": "json_object"}}),
    ("stream", {"stream": True}, {"stream": True}, {}),
    (
        "tags",
        {"tags": {"team": "search", "tier": 2}},
        {"extra_body": {"tags": {"team": "search", "tier": 2}}},
        {"extra_body": {"tags": {"team": "search"}}},
    ),
    (
        "header",
        {"header": {"x-tenant": {"equals": "acme"}}},
        {"extra_headers": {"X-Tenant": "acme"}},
        {"extra_headers": {"X-Tenant": "other"}},
    ),
]


@pytest.mark.parametrize(("name", "match", "hit", "miss"), CASES, ids=[c[0] for c in CASES])
def test_condition(
    mockopper: Mockopper,
    client: openai.OpenAI,
    name: str,
    match: dict[str, Any],
    hit: dict[str, Any],
    miss: dict[str, Any],
) -> None:
    mockopper.load(
        {
            "rules": [
                {"name": "target", "match": match, "reply": {"text": "hit"}},
                {"name": "fallback", "reply": {"text": "miss"}},
            ]
        }
    )
    assert ask(client, **hit) == "hit"
    if miss:
        assert ask(client, **miss) == "miss"


def test_tool_result_conditions(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load(
        {
            "rules": [
                {"match": {"tool_result": "lookup"}, "reply": {"text": "lookup result"}},
                {"match": {"tool_result": True}, "reply": {"text": "some result"}},
                {"match": {"message": "hello"}, "reply": {"text": "text"}},
                {"match": {"tool_result": False}, "reply": {"text": "no result"}},
            ]
        }
    )

    def after(name: str) -> list[dict[str, Any]]:
        return [
            {"role": "user", "content": "hello"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ]

    assert ask(client, messages=after("lookup")) == "lookup result"
    assert ask(client, messages=after("other")) == "some result"
    # A tool result last never satisfies `message`, even when an earlier user message would.
    assert ask(client, messages=[{"role": "user", "content": "hi"}]) == "no result"


def test_first_match_wins_and_times_limits_a_rule(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load(
        {
            "rules": [
                {"name": "twice", "match": {"message": "hi"}, "times": 2, "reply": {"text": "first"}},
                {"name": "after", "match": {"message": "hi"}, "reply": {"text": "second"}},
            ]
        }
    )
    answers = [ask(client, messages=[{"role": "user", "content": "hi"}]) for _ in range(3)]
    assert answers == ["first", "first", "second"]
    assert [r.rule for r in mockopper.requests] == ["twice", "twice", "after"]


def test_a_used_up_rule_is_named_in_the_near_miss_report(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.allow_unmatched = True
    mockopper.load({"rules": [{"name": "once", "times": 1, "reply": {"text": "x"}}]})
    ask(client)
    with pytest.raises(openai.BadRequestError, match="'once' - times: used up after 1 use"):
        ask(client)


def test_replies_are_served_in_order_and_the_last_repeats(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load({"rules": [{"replies": [{"text": "one"}, {"text": "two"}]}]})
    assert [ask(client) for _ in range(4)] == ["one", "two", "two", "two"]


def test_reset_restarts_sequences(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load({"rules": [{"replies": [{"text": "one"}, {"text": "two"}]}]})
    assert ask(client) == "one"
    mockopper.reset()
    assert ask(client) == "one"
    assert len(mockopper.requests) == 1
