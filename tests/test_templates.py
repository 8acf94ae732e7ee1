"""Templates: what they can see, and what they can never reach."""

from __future__ import annotations

from typing import Any

import pytest

from mockopper.templates import TemplateError, compile_template


class Ctx:
    def __init__(self, **values: Any) -> None:
        self.values = values
        self.faker_calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def lookup(self, path: tuple[str, ...]) -> Any:
        value: Any = self.values
        for part in path:
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def faker(self, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.faker_calls.append((provider, args, kwargs))
        return f"<{provider}>"


CTX = Ctx(
    request={"model": "openai/gpt-5.5", "message": "Hello", "tags": {"team": "search"}}, call=3, tool_result="sunny"
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain text", "plain text"),
        ("{{ request.model }}", "openai/gpt-5.5"),
        ("{{request.message|upper}}!", "HELLO!"),
        ("call {{ call }}: {{ tool_result | title }}", "call 3: Sunny"),
        ("{{ request.tags.team }}/{{ request.tags.missing | default('none') }}", "search/none"),
        ("{{ request.message | truncate(3) }}", "Hel"),
        ("{{ request.message | json }}", '"Hello"'),
        ("{{ faker.name }} and {{ faker.sentence(nb_words=4) }}", "<name> and <sentence>"),
    ],
)
def test_rendering(source: str, expected: str) -> None:
    assert compile_template(source).render(CTX) == expected


def test_a_lone_expression_keeps_its_type() -> None:
    assert compile_template("{{ call }}").render_value(CTX) == 3
    assert compile_template("n{{ call }}").render_value(CTX) == "n3"


def test_faker_arguments_are_literals() -> None:
    ctx = Ctx()
    compile_template("{{ faker.pyint(min_value=1, max_value=9) }}").render(ctx)
    compile_template("{{ faker.sentence(5) }}").render(ctx)
    assert ctx.faker_calls == [("pyint", (), {"min_value": 1, "max_value": 9}), ("sentence", (5,), {})]


# Payloads from the usual template-injection cheat sheets (Jinja2, Mako, Python format strings).
INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.__class__ }}",
    "{{ request.model.__class__.__init__.__globals__ }}",
    "{{ config.items() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ __import__('os').system('id') }}",
    "{{ open('/etc/passwd').read() }}",
    "{{ faker.__class__ }}",
    "{{ faker._Faker__config }}",
    "{{ faker.seed_instance(1) }}",
    "{{ faker.add_provider('os') }}",
    "{{ faker.binary(length=1000) }}",
    "{{ faker.name(__import__('os')) }}",
    "{{ faker.name(open('/etc/passwd')) }}",
    "{{ faker.pystr(max_chars=100000000) }}",
    "{{ request.message | attr('__class__') }}",
    "{{ request.message | format('%s') }}",
    "{{ 7*7 }}",
    "{{ request['__class__'] }}",
    "{{ call.real }}",
    "{{ tool_result.upper() }}",
    "${7*7}{{ eval('1') }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_payloads_are_refused_when_the_scenario_loads(payload: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(payload)


def test_unclosed_braces_are_an_error() -> None:
    with pytest.raises(TemplateError, match="unclosed"):
        compile_template("Hello {{ request.model")
