"""Anthropic message threads (`thread: create | continue`) through the real `anthropic` SDK.

The SDK's beta tool runner threads by default: the first turn creates a thread, the next
ones continue it with only the new messages and no `system` or `tools`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic import beta_tool
from anthropic.types import ThreadAlreadyContinuedError, ThreadNotFoundError, ThreadUnsupportedRequestError

from mockopper.plugin import Mockopper

SCENARIO = """
name: threads
rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls:
        - name: get_weather
          arguments: {city: Paris}
  - name: after weather
    # The continue sends neither `system` nor `tools` nor the user's turn: all come from the thread.
    match: {tool_result: get_weather, system: brief, tools: [get_weather], turn: 1}
    reply:
      text: "It is {{ tool_result }} in Paris."
  - name: thanks
    match: {message: thanks, turn: 2}
    reply: {text: You are welcome.}
  - name: flaky
    match: {message: flaky}
    replies:
      - error: {status: 500, message: Overloaded for a moment.}
      - text: Better now.
  - name: faulty
    match: {message: faulty}
    replies:
      - {text: Lost on the way., fault: {error_after: 0}}
      - text: Better now.
  - name: hello
    match: {message: hello}
    reply: {text: Hello from mockopper!}
"""

MODEL = "anthropic/claude-sonnet-4-6"
BETA = "message-threads-2026-08-12"
SYSTEM = "Be brief."
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(mockopper: Mockopper) -> Iterator[anthropic.Anthropic]:
    mockopper.load(SCENARIO)
    client = anthropic.Anthropic(base_url=mockopper.base_url, api_key="test-key", max_retries=0)
    yield client
    client.close()


def user(content: Any) -> list[Any]:
    return [{"role": "user", "content": content}]


def send(
    client: anthropic.Anthropic, messages: list[Any], thread: Any, **kwargs: Any
) -> anthropic.types.beta.BetaMessage:
    """One raw threaded request, as the SDK's threads send it (the beta named, `thread` set)."""
    return client.beta.messages.create(
        model=MODEL, max_tokens=100, messages=messages, thread=thread, betas=[BETA], **kwargs
    )


def create(client: anthropic.Anthropic, messages: list[Any], **kwargs: Any) -> anthropic.types.beta.BetaMessage:
    return send(client, messages, {"type": "create"}, **kwargs)


def continue_from(
    client: anthropic.Anthropic, previous: str, messages: list[Any], **kwargs: Any
) -> anthropic.types.beta.BetaMessage:
    return send(client, messages, {"type": "continue", "previous_message_id": previous}, **kwargs)


def tool_result(message: anthropic.types.beta.BetaMessage, text: str) -> list[Any]:
    [call] = [block for block in message.content if block.type == "tool_use"]
    return user([{"type": "tool_result", "tool_use_id": call.id, "content": text}])


def weather_tool(cities: list[str]) -> Any:
    @beta_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        cities.append(city)
        return "foggy"

    return get_weather


# --- the SDK's tool runner ----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_the_default_tool_runner_creates_then_continues_a_thread(
    claude: anthropic.Anthropic, mockopper: Mockopper, stream: bool
) -> None:
    cities: list[str] = []
    runner = claude.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=256,
        system=SYSTEM,
        messages=user("What is the weather in Paris?"),
        tools=[weather_tool(cities)],
        stream=stream,
    )
    ids = [item.get_final_message().id if stream else item.id for item in runner]  # type: ignore[union-attr]
    assert runner.until_done().content[0].text == "It is foggy in Paris."  # type: ignore[union-attr]
    assert cities == ["Paris"]

    first, second = mockopper.requests
    assert [first.rule, second.rule] == ["weather", "after weather"]
    assert [first.status, second.status] == [200, 200]
    assert first.request_body["thread"] == {"type": "create"}
    assert first.request_body["system"] == SYSTEM and first.request_body["tools"][0]["name"] == "get_weather"
    assert second.request_body["thread"] == {"type": "continue", "previous_message_id": ids[0]}
    assert "system" not in second.request_body and "tools" not in second.request_body
    assert [m["content"][0]["type"] for m in second.request_body["messages"]] == ["tool_result"]
    assert BETA in second.request_headers["anthropic-beta"]
    assert second.request_body.get("stream", False) is stream


def test_the_tool_runner_replays_a_thread_the_server_no_longer_has(
    claude: anthropic.Anthropic, mockopper: Mockopper
) -> None:
    runner = claude.beta.messages.tool_runner(
        model=MODEL, max_tokens=256, system=SYSTEM, messages=user("weather in Paris?"), tools=[weather_tool([])]
    )
    messages = iter(runner)
    next(messages)
    mockopper.reset()  # forgets the thread, as a server may
    final = next(messages)
    assert final.content[0].text == "It is foggy in Paris."  # type: ignore[union-attr]
    lost, replay = mockopper.requests
    assert (lost.status, replay.status) == (404, 200)
    assert lost.request_body["thread"]["type"] == "continue"
    assert lost.response_body["error"]["details"] == {"error_code": "thread_not_found"}
    assert replay.request_body["thread"] == {"type": "create"}
    assert replay.request_body["system"] == SYSTEM
    assert [m["role"] for m in replay.request_body["messages"]] == ["user", "assistant", "user"]


def test_the_tool_runner_replays_a_message_continued_elsewhere(
    claude: anthropic.Anthropic, mockopper: Mockopper
) -> None:
    runner = claude.beta.messages.tool_runner(
        model=MODEL, max_tokens=256, system=SYSTEM, messages=user("weather in Paris?"), tools=[weather_tool([])]
    )
    messages = iter(runner)
    first = next(messages)
    continue_from(claude, first.id, tool_result(first, "sunny"))  # another client continues the same reply first
    final = next(messages)
    assert final.content[0].text == "It is foggy in Paris."  # type: ignore[union-attr]
    refused, replay = mockopper.requests[-2:]
    assert refused.status == 400
    assert refused.response_body["error"]["details"] == {"error_code": "thread_already_continued"}
    assert replay.request_body["thread"] == {"type": "create"}


def test_the_tool_runner_goes_on_unthreaded_when_the_server_cannot_thread(
    claude: anthropic.Anthropic, mockopper: Mockopper
) -> None:
    mockopper.load(
        SCENARIO.replace(
            "  - name: weather\n",
            "  - name: unthreadable\n"
            "    match: {message: weather, header: {anthropic-beta: message-threads}}\n"
            "    times: 1\n"
            "    reply: {error: {status: 400, code: thread_unsupported_request, message: No threads here.}}\n"
            "  - name: weather\n",
        )
    )
    runner = claude.beta.messages.tool_runner(
        model=MODEL, max_tokens=256, system=SYSTEM, messages=user("weather in Paris?"), tools=[weather_tool([])]
    )
    assert runner.until_done().content[0].text == "It is foggy in Paris."  # type: ignore[union-attr]
    refused, first, second = mockopper.requests
    assert refused.rule == "unthreadable" and refused.status == 400
    assert "thread" not in first.request_body and "thread" not in second.request_body
    assert [m["role"] for m in second.request_body["messages"]] == ["user", "assistant", "user"]


def test_a_scripted_thread_error_carries_its_code(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    mockopper.load(
        "rules:\n"
        "  - match: {message: hello}\n"
        "    reply: {error: {status: 400, code: thread_unsupported_request, message: No threads here.}}\n"
    )
    with pytest.raises(ThreadUnsupportedRequestError) as raised:
        create(claude, user("hello"))
    assert raised.value.error_code == "thread_unsupported_request"
    assert raised.value.api_message == "No threads here."


def test_a_message_thread_sends_each_turn_alone(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    thread = claude.beta.messages.thread(model=MODEL, max_tokens=100, system=SYSTEM)
    assert thread.send({"role": "user", "content": "hello"}).content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]
    assert thread.send({"role": "user", "content": "thanks"}).content[0].text == "You are welcome."  # type: ignore[union-attr]
    assert [m["role"] for m in thread.messages] == ["user", "assistant", "user", "assistant"]
    first, second = mockopper.requests
    assert [len(r.request_body["messages"]) for r in (first, second)] == [1, 1]
    assert second.request_body["thread"] == {"type": "continue", "previous_message_id": first.response_body["id"]}


# --- raw thread requests ------------------------------------------------------------------


def test_a_thread_continues_turn_after_turn(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    first = create(claude, user("weather in Paris?"), system=SYSTEM, tools=[WEATHER_TOOL])
    second = continue_from(claude, first.id, tool_result(first, "rainy"))
    assert second.content[0].text == "It is rainy in Paris."  # type: ignore[union-attr]
    third = continue_from(claude, second.id, user("thanks!"))
    assert third.content[0].text == "You are welcome."  # type: ignore[union-attr]
    assert len({first.id, second.id, third.id}) == 3
    assert [r.rule for r in mockopper.requests] == ["weather", "after weather", "thanks"]
    # The whole conversation is the prompt, as if it had been sent each turn.
    assert third.usage.input_tokens > second.usage.input_tokens > first.usage.input_tokens


def test_a_continue_may_send_no_messages(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    # As after a `pause_turn`: the thread's last reply goes on, answering the same user turn.
    first = create(claude, user("hello"))
    assert continue_from(claude, first.id, []).content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]
    with pytest.raises(anthropic.BadRequestError, match="at least one message is required"):
        create(claude, [])
    assert [r.rule for r in mockopper.requests] == ["hello", "hello", None]


def test_a_continued_message_cannot_be_continued_again(claude: anthropic.Anthropic) -> None:
    first = create(claude, user("weather in Paris?"), system=SYSTEM, tools=[WEATHER_TOOL])
    continue_from(claude, first.id, tool_result(first, "rainy"))
    with pytest.raises(ThreadAlreadyContinuedError) as raised:
        continue_from(claude, first.id, tool_result(first, "sunny"))
    error = raised.value
    assert isinstance(error, anthropic.BadRequestError)
    assert error.status_code == 400
    assert error.error_code == "thread_already_continued"
    assert error.type == "invalid_request_error"
    assert error.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": error.api_message,
            "details": {"error_code": "thread_already_continued"},
        },
        "request_id": error.request_id,
    }
    assert first.id in str(error.api_message)


@pytest.mark.parametrize(
    "previous",
    ["msg_never_sent", "unthreaded"],
    ids=["unknown id", "a reply sent without a thread"],
)
def test_an_unknown_message_is_thread_not_found(claude: anthropic.Anthropic, previous: str) -> None:
    if previous == "unthreaded":
        previous = claude.beta.messages.create(model=MODEL, max_tokens=100, messages=user("hello")).id
    with pytest.raises(ThreadNotFoundError) as raised:
        continue_from(claude, previous, user("hello again"))
    error = raised.value
    assert isinstance(error, anthropic.NotFoundError)
    assert (error.status_code, error.type, error.error_code) == (404, "not_found_error", "thread_not_found")
    assert error.body["error"]["details"] == {"error_code": "thread_not_found"}  # type: ignore[index]
    assert previous in str(error.api_message)


@pytest.mark.parametrize("text", ["flaky?", "faulty?"], ids=["scripted error", "error_after fault"])
def test_a_failed_continue_leaves_the_message_to_continue(
    claude: anthropic.Anthropic, mockopper: Mockopper, text: str
) -> None:
    first = create(claude, user("hello"))
    with pytest.raises(anthropic.InternalServerError):
        continue_from(claude, first.id, user(text))
    assert continue_from(claude, first.id, user(text)).content[0].text == "Better now."  # type: ignore[union-attr]
    assert [r.status for r in mockopper.requests] == [200, 500, 200]


@pytest.mark.parametrize(
    ("repeated", "field"),
    [
        ({"system": SYSTEM}, "system"),
        ({"tools": [WEATHER_TOOL]}, "tools"),
        ({"system": SYSTEM, "tools": [WEATHER_TOOL]}, "system"),
    ],
    ids=["system", "tools", "both"],
)
def test_a_continue_may_not_repeat_system_or_tools(
    claude: anthropic.Anthropic, repeated: dict[str, Any], field: str
) -> None:
    first = create(claude, user("weather in Paris?"), system=SYSTEM, tools=[WEATHER_TOOL])
    with pytest.raises(anthropic.BadRequestError) as raised:
        continue_from(claude, first.id, tool_result(first, "rainy"), **repeated)
    message = str(raised.value.api_message)
    assert message.startswith(f"{field}: ")
    assert all(f"`{name}`" in message for name in repeated)
    assert raised.value.error_code is None
    # Refused, not continued: the thread still goes on from that reply.
    assert continue_from(claude, first.id, tool_result(first, "rainy")).stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("thread", "message"),
    [
        ({"type": "continue"}, "thread.continue.previous_message_id: Field required"),
        ({"type": "resume"}, "thread: Input tag 'resume' found using 'type' does not match"),
        ("create", "thread: Input should be a valid dictionary"),
    ],
    ids=["continue without an id", "unknown type", "not an object"],
)
def test_malformed_threads_are_400s(claude: anthropic.Anthropic, thread: Any, message: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        send(claude, user("hello"), thread)
    assert str(raised.value.api_message).startswith(message)


def test_a_continue_must_answer_the_tool_calls_it_continues(claude: anthropic.Anthropic) -> None:
    first = create(claude, user("weather in Paris?"), system=SYSTEM, tools=[WEATHER_TOOL])
    with pytest.raises(anthropic.BadRequestError, match="`tool_use` ids were found without `tool_result`"):
        continue_from(claude, first.id, user("never mind"))
    [answer] = tool_result(first, "rainy")
    stray = {"type": "tool_result", "tool_use_id": "toolu_other", "content": "x"}
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.0\.content\.1: unexpected `tool_use_id`"):
        continue_from(claude, first.id, user([*answer["content"], stray]))


def test_a_streamed_continue(claude: anthropic.Anthropic) -> None:
    first = create(claude, user("weather in Paris?"), system=SYSTEM, tools=[WEATHER_TOOL])
    with claude.beta.messages.stream(
        model=MODEL,
        max_tokens=100,
        messages=tool_result(first, "misty"),
        thread={"type": "continue", "previous_message_id": first.id},
        betas=[BETA],
    ) as stream:
        assert "".join(stream.text_stream) == "It is misty in Paris."
        second = stream.get_final_message()
    assert continue_from(claude, second.id, user("thanks")).content[0].text == "You are welcome."  # type: ignore[union-attr]
