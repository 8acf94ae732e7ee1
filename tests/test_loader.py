"""Scenario files: every problem reported as `file:line: path: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockopper.loader import FileCache, ScenarioError, bundled_names, load, load_file, load_text, resolve

BROKEN = [
    (
        "misspelt match key",
        "rules:\n  - match:\n      mesage: hi\n    reply: {text: hi}\n",
        ["f.yaml:3: rules[0].match.mesage: unknown key 'mesage' (did you mean 'message'?)"],
    ),
    (
        "misspelt reply key",
        "rules:\n  - reply:\n      txt: hi\n",
        ["f.yaml:3: rules[0].reply.txt: unknown key 'txt' (did you mean 'text'?)"],
    ),
    (
        "unknown top-level key",
        "name: x\nrulez: []\n",
        ["f.yaml:2: rulez: unknown key 'rulez' (did you mean 'rules'?)"],
    ),
    (
        "two reply kinds",
        "rules:\n  - reply: {text: hi, json: {a: 1}}\n",
        [
            "f.yaml:2: rules[0].reply: a reply has exactly one kind, got text and json "
            "(only text may stand beside tool_calls)"
        ],
    ),
    (
        "reply and replies",
        "rules:\n  - reply: {text: a}\n    replies: [{text: b}]\n",
        ["f.yaml:2: rules[0]: a rule needs exactly one of reply or replies"],
    ),
    (
        "bad regex",
        "rules:\n  - match:\n      message: {regex: '(unclosed'}\n    reply: {text: hi}\n",
        [
            "f.yaml:3: rules[0].match.message: invalid regular expression '(unclosed': "
            "missing ), unterminated subpattern at position 0"
        ],
    ),
    (
        "two lookups in one text condition",
        "rules:\n  - match:\n      message: {contains: a, equals: b}\n    reply: {text: hi}\n",
        [
            "f.yaml:3: rules[0].match.message: a text condition takes exactly one of contains, equals, regex, "
            "startswith (got contains, equals)"
        ],
    ),
    (
        "wrong type",
        "seed: seven\n",
        ["f.yaml:1: seed: Input should be a valid integer, unable to parse string as an integer, got 'seven'"],
    ),
    (
        "status out of range",
        "rules:\n  - reply:\n      error: {status: 200}\n",
        ["f.yaml:3: rules[0].reply.error.status: Input should be greater than or equal to 400, got 200"],
    ),
    (
        "unknown api",
        "rules:\n  - match: {api: chats}\n    reply: {text: hi}\n",
        [
            "f.yaml:2: rules[0].match.api: Input should be 'chat', 'responses', 'openresponses', 'embeddings', "
            "'messages', 'count_tokens', 'interactions' or 'gemini', got 'chats'"
        ],
    ),
    (
        "bad template name",
        "rules:\n  - reply:\n      text: 'Hi {{ reqest.model }}'\n",
        [
            "f.yaml:3: rules[0].reply.text: {{ reqest.model }}: unknown name 'reqest'; known names are call, "
            "faker, request, tool_name, tool_result"
        ],
    ),
    (
        "unknown faker provider",
        "rules:\n  - reply: {text: '{{ faker.nosuchthing }}'}\n",
        ["f.yaml:2: rules[0].reply.text: {{ faker.nosuchthing }}: Faker has no provider 'nosuchthing'"],
    ),
    (
        "template in a tool argument",
        "rules:\n  - reply:\n      tool_calls:\n        - name: f\n          arguments: {city: '{{ request.city }}'}\n",
        [
            "f.yaml:5: rules[0].reply.tool_calls[0].arguments: {{ request.city }}: request has no field 'city'; "
            "known fields are api, attachment, attachments, message, model, requested_model, stream, system, tags, turn"
        ],
    ),
    (
        "fault with two actions",
        "rules:\n  - reply:\n      text: hi\n      fault: {disconnect_after: 1, hang: true}\n",
        [
            "f.yaml:4: rules[0].reply.fault: a fault takes exactly one of disconnect_after, truncate_after, "
            "error_after, hang (got disconnect_after, hang)"
        ],
    ),
    (
        "bad chunk",
        "rules:\n  - reply:\n      text: hi\n      stream: {chunk: words}\n",
        ["f.yaml:4: rules[0].reply.stream.chunk: Input should be 'word', 'char' or 'line', got 'words'"],
    ),
    (
        "duplicate key",
        "name: a\nname: b\n",
        ["f.yaml:2: name: duplicate key 'name'"],
    ),
    (
        "bad YAML",
        "rules:\n  - reply: {text: [unclosed}\n",
        ["f.yaml:2: invalid YAML: did not find expected ',' or ']'"],
    ),
    (
        "python tag",
        "rules: !!python/object/apply:os.system [ls]\n",
        [
            "f.yaml:1: rules: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' "
            "(only plain YAML values are allowed)"
        ],
    ),
    (
        "not a mapping",
        "- just\n- a list\n",
        ["f.yaml:1: a scenario must be a mapping"],
    ),
    (
        "several problems at once",
        "seed: x\nrules:\n  - match: {turn: -1}\n    reply: {text: hi}\nchaos: {rate: 2}\n",
        [
            "f.yaml:1: seed: Input should be a valid integer, unable to parse string as an integer, got 'x'",
            "f.yaml:3: rules[0].match.turn: Input should be greater than or equal to 0, got -1",
            "f.yaml:5: chaos.rate: Input should be less than or equal to 1, got 2",
        ],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_scenarios_list_every_problem_with_its_line(case: str, text: str, expected: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "f.yaml")
    assert sorted(str(p) for p in info.value.problems) == sorted(expected)


def test_a_good_scenario_loads() -> None:
    scenario = load_text(
        """
name: demo
seed: 7
models:
  openai/gpt-5.5:
    error: {status: 503, message: upstream overloaded}
  anthropic/claude-sonnet-4-6: {}
  gemini/gemini-2.5-pro:
    fail_first: 2
    error: {status: 429}
rules:
  - name: weather
    match: {message: {contains: weather}, tools: [get_weather]}
    reply:
      tool_calls: [{name: get_weather, arguments: {city: Paris}}]
  - match: {model: "anthropic/*", message: {regex: "^retry"}}
    replies:
      - error: {status: 429, retry_after: 0.05}
      - text: ok
chaos: {rate: 0.1, statuses: [429, 500]}
""",
        "demo.yaml",
    )
    assert scenario.name == "demo" and scenario.seed == 7
    assert scenario.rule_name(1) == "rule 2"
    assert scenario.models["anthropic/claude-sonnet-4-6"].error is None
    assert scenario.rules[1].reply_for(5).text == "ok"  # the last reply repeats


def test_replies_cycle() -> None:
    scenario = load({"rules": [{"replies": [{"text": "a"}, {"text": "b"}], "then": "cycle"}]})
    assert [scenario.rules[0].reply_for(n).text for n in range(1, 6)] == ["a", "b", "a", "b", "a"]


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "my-scenario.yaml"
    path.write_text("rules: []\n")
    assert load_file(path).name == "my-scenario"


def test_a_file_cache_reads_a_file_again_only_once_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("rules: [{reply: {text: one}}]\n")
    cache = FileCache(limit=1)
    first = load_file(path, cache)
    assert load_file(path, cache) is first
    assert load_file(path) is not first  # without a cache the file is read every time
    path.write_text("rules: [{reply: {text: three}}]\n")  # another size: another version
    changed = load_file(path, cache)
    assert changed.rules[0].reply is not None and changed.rules[0].reply.text == "three"
    other = tmp_path / "t.yaml"
    other.write_text("rules: []\n")
    load_file(other, cache)  # past the limit: the least recently loaded is forgotten
    assert load_file(path, cache) is not changed


def test_a_bare_name_resolves_to_a_bundled_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("default.yaml").parent.name == "bundled"
    assert resolve("default").name == "default.yaml"
    (tmp_path / "default.yaml").write_text("rules: []\n")
    assert resolve("default.yaml") == Path("default.yaml")  # a local file wins


def test_an_unknown_name_lists_the_bundled_scenarios() -> None:
    with pytest.raises(ScenarioError, match="no bundled scenario of that name"):
        load_file("no-such-scenario.yaml")


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_scenario_loads_and_says_what_it_is_for(name: str) -> None:
    scenario = load_file(name)
    assert scenario.description
    header = resolve(name).read_text().splitlines()[0]
    assert header.startswith(f"# {name}:")


def test_json_is_accepted_too() -> None:
    scenario = load_text('{"rules": [{"reply": {"text": "hi"}}]}', "s.json")
    assert scenario.rules[0].reply is not None and scenario.rules[0].reply.text == "hi"


def test_anchor_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(ScenarioError, match="too large"):
        load_text("\n".join(lines), "bomb.yaml")
