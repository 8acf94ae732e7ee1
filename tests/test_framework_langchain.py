"""LangChain output parsers against the default scenario: their format instructions are followed.

`PydanticOutputParser` and `JsonOutputParser` put a JSON Schema in the prompt after an
example schema of their own; the answer is an instance of the real one, so the parser
validates it. A prefilled `{` on ChatAnthropic is continued, as the real API does.
"""

from __future__ import annotations

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser, StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from mockopper.plugin import Mockopper

pytestmark = pytest.mark.usefixtures("no_network")


class Movie(BaseModel):
    title: str = Field(description="the film's title")
    year: int = Field(description="the year it was released")
    director: str
    genres: list[str]


def chat(mockopper: Mockopper) -> ChatOpenAI:
    return ChatOpenAI(model="openai/gpt-5.5", base_url=mockopper.base_url, api_key="k", max_retries=0)  # type: ignore[arg-type]


def check(movie: Movie) -> None:
    assert 1950 <= movie.year <= 2030 and " " in movie.director and all(isinstance(g, str) for g in movie.genres)


@pytest.mark.parametrize("where", ["system", "human"])
def test_pydantic_output_parser(mockopper: Mockopper, where: str) -> None:
    parser = PydanticOutputParser(pydantic_object=Movie)
    instructions = ("{format_instructions}", "Tell me about {film}.")
    prompt = ChatPromptTemplate.from_messages(
        [("system", instructions[0]), ("human", instructions[1])]
        if where == "system"
        else [("human", "\n\n".join(reversed(instructions)))]
    ).partial(format_instructions=parser.get_format_instructions())
    movie = (prompt | chat(mockopper) | parser).invoke({"film": "Alien"})
    check(movie)
    assert len(mockopper.requests) == 1


def test_json_output_parser_with_a_pydantic_object(mockopper: Mockopper) -> None:
    parser = JsonOutputParser(pydantic_object=Movie)
    prompt = ChatPromptTemplate.from_messages([("human", "Tell me about {film}.\n\n{format_instructions}")]).partial(
        format_instructions=parser.get_format_instructions()
    )
    value = (prompt | chat(mockopper) | parser).invoke({"film": "Alien"})
    check(Movie.model_validate(value))
    # these instructions ask for no code fence, and get none
    assert mockopper.requests[0].response_body["choices"][0]["message"]["content"].startswith("{")


def test_json_mode_with_the_format_instructions(mockopper: Mockopper) -> None:
    parser = PydanticOutputParser(pydantic_object=Movie)
    model = chat(mockopper).with_structured_output(Movie, method="json_mode")
    movie = model.invoke([HumanMessage(f"Tell me about Alien.\n\n{parser.get_format_instructions()}")])
    assert isinstance(movie, Movie)
    check(movie)
    assert mockopper.requests[0].request_body["response_format"] == {"type": "json_object"}


def test_an_ordinary_prompt_is_text(mockopper: Mockopper) -> None:
    text = (chat(mockopper) | StrOutputParser()).invoke("What is JSON, and why do APIs use it?")
    assert text and "{" not in text


def test_anthropic_prefill_is_continued(mockopper: Mockopper) -> None:
    parser = PydanticOutputParser(pydantic_object=Movie)
    model = ChatAnthropic(  # type: ignore[call-arg]
        model_name="anthropic/claude-sonnet-4-6", base_url=mockopper.base_url, api_key="k", max_retries=0
    )
    reply = model.invoke([HumanMessage(f"Tell me about Alien.\n\n{parser.get_format_instructions()}"), AIMessage("{")])
    assert isinstance(reply.content, str) and not reply.content.startswith("{")
    check(parser.parse("{" + reply.content))
