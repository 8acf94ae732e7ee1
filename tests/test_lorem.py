"""Lorem text drawn without Faker is Faker's, to the byte, and shares one random stream with it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from faker import Faker

from mockopper.lorem import WORDS, Fake

SEEDS = range(40)

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("word", (), {}),
    ("words", (), {}),
    ("words", (0,), {}),
    ("words", (1,), {}),
    ("words", (9,), {}),
    ("sentence", (), {}),
    ("sentence", (0,), {}),
    ("sentence", (1,), {}),
    ("sentence", (12, False), {}),
    ("sentence", (), {"nb_words": 3, "variable_nb_words": True}),
    ("sentences", (), {}),
    ("sentences", (5,), {}),
    ("paragraph", (), {}),
    ("paragraph", (), {"nb_sentences": 3}),
    ("paragraph", (0,), {}),
    ("paragraph", (5, False), {}),
    ("paragraphs", (2,), {}),
    ("text", (), {}),
    ("text", (5,), {}),
    ("text", (24,), {}),
    ("text", (25,), {}),
    ("text", (99,), {}),
    ("text", (100,), {}),
    ("text", (), {"max_nb_chars": 1000}),
    ("texts", (2, 50), {}),
    # what Faker itself answers: a word list or a part of speech of the caller's, unique words
    ("words", (3,), {"ext_word_list": ["alpha", "beta", "gamma"]}),
    ("words", (4,), {"unique": True}),
    ("word", (), {"part_of_speech": "verb"}),
    ("sentence", (), {"ext_word_list": ["x", "y"]}),
    ("paragraph", (True,), {}),
]


@pytest.fixture(scope="module")
def faker() -> Faker:
    return Faker()


def test_the_word_list_is_fakers() -> None:
    from faker.providers.lorem.en_US import Provider

    assert Provider.word_list == WORDS


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
def test_each_lorem_method_draws_what_faker_draws(
    faker: Faker, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    for seed in SEEDS:
        faker.seed_instance(seed)
        expected = getattr(faker, name)(*args, **kwargs)
        assert getattr(Fake(seed, lambda: faker), name)(*args, **kwargs) == expected, seed


def test_lorem_and_other_faker_methods_share_one_stream(faker: Faker) -> None:
    steps = ["paragraph", "name", "sentence", "email", "word", "pyint", "text"]
    for seed in SEEDS:
        faker.seed_instance(seed)
        expected = [getattr(faker, step)() for step in steps]
        fake = Fake(seed, lambda: faker)
        assert [getattr(fake, step)() for step in steps] == expected, seed


@pytest.mark.parametrize(
    ("name", "args"),
    [("paragraph", ("three",)), ("text", (4,)), ("words", (2.5,)), ("sentences", (None,))],
)
def test_what_faker_refuses_is_refused_as_faker_refuses_it(faker: Faker, name: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(Exception) as real:
        getattr(faker, name)(*args)
    with pytest.raises(type(real.value)) as ours:
        getattr(Fake(0, lambda: faker), name)(*args)
    assert str(ours.value) == str(real.value)


def test_a_private_name_is_no_faker_method() -> None:
    def no_faker() -> Faker:
        raise AssertionError("Faker was asked for")

    with pytest.raises(AttributeError):
        Fake(0, no_faker)._missing  # noqa: B018


def test_the_default_scenarios_answer_needs_no_faker() -> None:
    """A server on the default scenario answers its first chat without importing Faker (its import is slow)."""
    script = textwrap.dedent(
        """
        import sys
        import openai
        from mockopper import MockServer

        with MockServer() as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            reply = client.chat.completions.create(
                model="openai/gpt-4o", messages=[{"role": "user", "content": "Tell me about the sea."}]
            )
        assert reply.choices[0].message.content, reply
        print("faker" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
