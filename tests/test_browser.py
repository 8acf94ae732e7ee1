"""The inspector and cross-origin streaming, in a real headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockopper.plugin import Mockopper

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("MOCKOPPER_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (apt install chromium chromium-driver)")
        pytest.skip("no chromium/chromedriver on this machine (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1500,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float = 10) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: d.execute_script(script))


SCENARIO = """
rules:
  - name: greeting
    match: {message: hello}
    reply:
      text: Hello from the inspector test
  - name: streamed
    match: {message: stream}
    reply:
      text: "one two three four five six seven eight"
      stream: {chunk: word, ttft_ms: 20, interval_ms: 30}
"""


def test_the_inspector_shows_the_journal_live(browser: Any, mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    mockopper.allow_unmatched = True
    browser.get(mockopper.url + "/__mockopper/")
    wait_for(browser, "return document.getElementById('live').classList.contains('live')")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="sk-secret-key", max_retries=0)
    client.chat.completions.create(
        model="openai/gpt-5.5", messages=[{"role": "user", "content": "hello"}], extra_body={"tags": {"team": "web"}}
    )
    list(
        client.chat.completions.create(
            model="anthropic/claude-sonnet-4-6", stream=True, messages=[{"role": "user", "content": "stream please"}]
        )
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "nothing matches"}])

    # The rows appear without a reload, newest first.
    wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 3")
    rows = browser.execute_script("return [...document.querySelectorAll('#rows tr.row')].map(r => r.innerText)")
    assert "unmatched" in rows[0] and "400" in rows[0]
    assert "streamed" in rows[1] and "anthropic/claude-sonnet-4-6 200" in rows[1]
    assert "greeting" in rows[2] and "chat" in rows[2]

    # Clicking the stream shows its events in order; clicking the miss explains it.
    browser.execute_script("document.querySelectorAll('#rows tr.row')[1].click()")
    events = wait_for(browser, "return [...document.querySelectorAll('ol.events li')].map(li => li.innerText)")
    assert events[0].startswith("data: {") and '"role":"assistant"' in events[0]
    assert events[-1] == "data: [DONE]"
    content = "".join(e for e in events if '"content":"' in e)
    assert all(word in content for word in ("one", "four", "eight"))
    browser.execute_script("document.querySelectorAll('#rows tr.row')[0].click()")
    explanation = wait_for(browser, "return document.querySelector('.explain')?.innerText")
    assert "No rule matched POST /v3/compat/chat/completions (model 'm')" in explanation
    assert "'greeting' - message: expected to contain 'hello', got 'nothing matches'" in explanation
    detail = browser.execute_script("return document.getElementById('detail').innerText")
    assert "sk-secret-key" not in detail and "Bearer [redacted]" in detail

    # Clearing the journal empties the page.
    browser.execute_script("document.getElementById('clear').click()")
    wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 0")


def test_the_inspector_filters_by_session(browser: Any, mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    browser.get(mockopper.url + "/__mockopper/")
    wait_for(browser, "return document.getElementById('live').classList.contains('live')")
    for session in ("alice", "bob", None):
        headers = mockopper.session(session).headers if session else None
        with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=headers) as client:
            client.chat.completions.create(model=f"m-{session}", messages=[{"role": "user", "content": "hello"}])
    wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 3")
    options = browser.execute_script("return [...document.querySelectorAll('#session option')].map(o => o.value)")
    assert options == ["*", "", "alice", "bob"]

    def shown_after_choosing(value: str) -> list[str]:
        browser.execute_script(
            "const s = document.getElementById('session'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));",
            value,
        )
        rows: list[str] = browser.execute_script(
            "return [...document.querySelectorAll('#rows tr.row')].map(r => r.innerText)"
        )
        return rows

    assert [("m-bob" in r) for r in shown_after_choosing("bob")] == [True]
    assert [("m-None" in r) for r in shown_after_choosing("")] == [True]
    assert len(shown_after_choosing("*")) == 3


def test_the_inspector_shows_cost_and_groups_a_trace(browser: Any, mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    browser.get(mockopper.url + "/__mockopper/")
    wait_for(browser, "return document.getElementById('live').classList.contains('live')")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    parent = {"X-Opper-Parent-Span-Id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"}
    for headers in (parent, {}, parent):
        client.chat.completions.create(
            model="openai/gpt-5.5", messages=[{"role": "user", "content": "hello"}], extra_headers=headers
        )
    wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 3")
    records = mockopper.requests
    assert records[0].trace_id == records[2].trace_id != records[1].trace_id
    rows = browser.execute_script("return [...document.querySelectorAll('#rows tr.row')].map(r => r.innerText)")
    cost = format(records[0].cost, ".10f").rstrip("0")
    assert all(cost in row for row in rows)
    # Clicking a trace shows that trace's calls only.
    browser.execute_script("document.querySelector('#rows tr.row .chip.trace').click()")
    wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 2")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#rows tr.row td:first-child')].map(c => c.innerText)"
    )
    assert shown == [str(records[2].seq), str(records[0].seq)]
    browser.execute_script("document.querySelectorAll('#rows tr.row')[0].click()")
    detail = wait_for(browser, "return document.getElementById('detail').innerText")
    assert records[2].trace_id in detail and "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b" in detail


def test_the_inspector_shows_attachments_not_base64(browser: Any, mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(4000)).decode()
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    content: Any = [
        {"type": "text", "text": "hello"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
    ]
    client.chat.completions.create(model="openai/gpt-5.5", messages=[{"role": "user", "content": content}])
    browser.get(mockopper.url + "/__mockopper/")
    wait_for(browser, "return document.querySelectorAll('#rows tr.row .attachment').length === 1")
    assert browser.execute_script("return document.querySelector('#rows .attachment').innerText") == "image"
    browser.execute_script("document.querySelector('#rows tr.row').click()")
    table = wait_for(browser, "return document.querySelector('table.attachments')?.innerText")
    assert "image/png" in table and "3.9 KiB" in table and "inline" in table
    size_cell = "table.attachments tr:nth-child(2) td:nth-child(3)"
    exact = browser.execute_script(f"return document.querySelector({size_cell!r}).title")
    assert exact == "4,008 bytes"
    detail = browser.execute_script("return document.getElementById('detail').innerText")
    assert "attachments (1)" in detail.lower() and "[image/png, 4008 bytes, sha256:" in detail
    assert png[:200] not in detail


LAYOUT_SCENARIO = """
rules:
  - name: weather tool call
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls: [{name: get_weather, arguments: {city: Paris, unit: celsius}}]
  - name: after the tool ran
    match: {tool_result: get_weather}
    reply: {text: "It is {{ tool_result }} in Paris, a fine day for a walk along the Seine."}
  - name: overloaded
    match: {message: overloaded}
    reply: {error: {status: 503, message: The model is overloaded right now.}}
  - name: storyteller
    match: {message: story}
    reply:
      text: >-
        Once upon a time, in a data centre far away, a mock server answered every request
        the same way twice, and the tests that leaned on it never flaked again, not once,
        not on any machine, not even on a Friday afternoon before a long weekend.
"""

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}

FITS = """
const fits = (node) => node.scrollWidth <= node.clientWidth;
return ['list', 'detail'].every((id) => fits(document.getElementById(id))) && fits(document.documentElement);
"""

# For each row: whether its status and ms cells are inside the viewport, and its asked/answered cells.
CELLS = """
const inside = (cell) => {
  const box = cell.getBoundingClientRect();
  return box.width > 0 && box.left >= 0 && box.right <= document.documentElement.clientWidth;
};
return [...document.querySelectorAll('#rows tr.row')].map((row) => ({
  status: inside(row.querySelector('td.c-status')) && row.querySelector('td.c-status').innerText,
  ms: inside(row.querySelector('td.c-ms')),
  asked: row.querySelector('td.c-asked').innerText,
  askedTitle: row.querySelector('td.c-asked').title,
  answered: row.querySelector('td.c-answered').innerText,
  answeredWidth: row.querySelector('td.c-answered').getBoundingClientRect().width,
  cut: row.querySelector('td.c-answered').scrollWidth > row.querySelector('td.c-answered').clientWidth,
}));
"""


def at_size(browser: Any, width: int, height: int) -> None:
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def test_the_inspector_fits_1280_pixels_and_shows_what_was_asked_and_answered(
    browser: Any, mockopper: Mockopper
) -> None:
    mockopper.load(LAYOUT_SCENARIO)
    mockopper.allow_unmatched = True
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    user = {"role": "user", "content": "What is the weather in Paris?"}
    call = client.chat.completions.create(model="openai/gpt-5.5", messages=[user], tools=[WEATHER_TOOL])
    [tool_call] = call.choices[0].message.tool_calls or []
    client.chat.completions.create(
        model="openai/gpt-5.5",
        tools=[WEATHER_TOOL],
        messages=[
            user,
            {"role": "assistant", "tool_calls": [tool_call.model_dump()]},
            {"role": "tool", "tool_call_id": tool_call.id, "content": "18 degrees and sunny"},
        ],
    )
    client.embeddings.create(model="openai/text-embedding-3-small", input="a sentence to embed")

    def ask(text: str, model: str = "openai/gpt-5.5") -> None:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])

    with pytest.raises(openai.InternalServerError):
        ask("overloaded?")
    with pytest.raises(openai.BadRequestError):
        ask("nothing matches")
    ask("A story", model="anthropic/claude-sonnet-4-6")

    try:
        at_size(browser, 1280, 800)
        browser.get(mockopper.url + "/__mockopper/")
        wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 6")
        assert browser.execute_script("return window.innerWidth") == 1280
        assert browser.execute_script(FITS)
        rows = browser.execute_script(CELLS)  # newest first
        assert [r["status"] for r in rows] == ["200", "400", "503", "200", "200", "200"]
        assert all(r["ms"] for r in rows)
        story, miss, overloaded, embedding, tool_answer, weather = rows
        assert (weather["asked"], weather["answered"]) == (
            "What is the weather in Paris?",
            'get_weather({"city":"Paris","unit":"celsius"})',
        )
        assert tool_answer["asked"] == "[get_weather result] 18 degrees and sunny"
        assert tool_answer["answered"].startswith("It is 18 degrees and sunny in Paris")
        assert embedding["asked"] == "a sentence to embed"
        assert embedding["answered"] == "1 embedding(s) of 1536 dimensions"
        assert overloaded["answered"] == "The model is overloaded right now."
        assert miss["answered"].startswith("No rule matched POST /v3/compat/chat/completions (model 'openai/gpt-5.5').")
        # A long answer is cut with an ellipsis, its first words shown and the whole line in the tooltip.
        assert story["cut"] and story["answered"].startswith("Once upon a time, in a data centre far away")
        assert story["answeredWidth"] > 200
        [record] = [r for r in mockopper.requests if r.answered and r.answered.startswith("Once")]
        assert record.asked == "A story" and len(record.answered) <= 200

        # With a request open beside the list, the list keeps what matters and still fits.
        browser.execute_script("document.querySelectorAll('#rows tr.row')[0].click()")
        newest = mockopper.requests[-1].seq
        wait_for(browser, f"return document.querySelector('#detail h2')?.innerText.startsWith('#{newest} ')")
        assert browser.execute_script(FITS)
        rows = browser.execute_script(CELLS)
        assert all(r["status"] and r["ms"] for r in rows)
        assert rows[5]["answered"] == 'get_weather({"city":"Paris","unit":"celsius"})'
        detail = browser.execute_script("return document.getElementById('detail').innerText")
        assert "Once upon a time" in detail and "A story" in detail
        if os.environ.get("MOCKOPPER_SCREENSHOT"):
            browser.save_screenshot(os.environ["MOCKOPPER_SCREENSHOT"])

        # At 1024 pixels the less important columns give way; status, ms, asked and answered stay.
        at_size(browser, 1024, 768)
        wait_for(browser, "return window.innerWidth === 1024")
        assert browser.execute_script(FITS)
        rows = browser.execute_script(CELLS)
        assert all(r["status"] and r["ms"] and r["answeredWidth"] > 80 for r in rows)
        assert rows[5]["asked"] == "What is the weather in Paris?"

        # Escape closes the detail, and the list takes the whole width again.
        from selenium.webdriver.common.keys import Keys

        browser.find_element("tag name", "body").send_keys(Keys.ESCAPE)
        wait_for(browser, "return !document.getElementById('main').classList.contains('open')")
        assert browser.execute_script(FITS)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>chat</title>
<div id="out"></div>
<script>
window.tokens = [];
window.done = false;
async function run(base) {
  const response = await fetch(base + "/chat/completions", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer browser-key",
              "X-Stainless-Lang": "js", "X-Stainless-Retry-Count": "0"},
    body: JSON.stringify({model: "openai/gpt-5.5", stream: true,
                          messages: [{role: "user", content: "stream please"}]}),
  });
  window.httpStatus = response.status;
  window.model = response.headers.get("x-mockopper-model");
  window.traceId = response.headers.get("x-opper-trace-id");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
      const line = buffer.slice(0, cut).replace(/^data: /, "");
      buffer = buffer.slice(cut + 2);
      if (line === "[DONE]") continue;
      const delta = JSON.parse(line).choices[0]?.delta?.content;
      if (delta) {
        window.tokens.push([performance.now(), delta]);
        document.getElementById("out").textContent += delta;
      }
    }
  }
  window.done = true;
}
</script>
"""


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A static page served from a different origin (another port) than mockopper."""
    (tmp_path / "index.html").write_text(PAGE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_origin_streams_tokens_as_they_arrive(
    browser: Any, mockopper: Mockopper, other_origin: str
) -> None:
    mockopper.load(SCENARIO)
    browser.get(other_origin + "/index.html")
    browser.execute_script(f"run({mockopper.base_url!r})")
    wait_for(browser, "return window.done === true")
    assert browser.execute_script("return window.httpStatus") == 200
    assert browser.execute_script("return window.model") == "openai/gpt-5.5"  # exposed to the page by CORS
    [record] = [r for r in mockopper.requests if r.method == "POST"]
    assert browser.execute_script("return window.traceId") == record.trace_id
    assert browser.find_element("id", "out").text == "one two three four five six seven eight"
    stamps = [t for t, _ in browser.execute_script("return window.tokens")]
    assert len(stamps) == 8
    # The tokens were rendered as they arrived (30 ms apart), not all at once at the end.
    assert stamps[-1] - stamps[0] > 150
    preflights = [r for r in mockopper.requests if r.method == "OPTIONS"]
    assert preflights == []  # the CORS preflight is answered before the pipeline, not journaled


def test_a_frontend_records_through_the_proxy_and_the_inspector_marks_it_forwarded(
    browser: Any, mockopper: Mockopper, other_origin: str, tmp_path: Path
) -> None:
    import yaml

    from mockopper.server import MockServer

    recording = tmp_path / "frontend.yaml"
    with (
        MockServer(SCENARIO) as upstream,
        MockServer({"rules": []}, upstream=upstream.base_url, record=str(recording)) as proxy,
    ):
        browser.get(other_origin + "/index.html")
        browser.execute_script(f"run({proxy.base_url!r})")
        wait_for(browser, "return window.done === true")
        assert browser.find_element("id", "out").text == "one two three four five six seven eight"
        tokens = [piece for _, piece in browser.execute_script("return window.tokens")]
        browser.get(proxy.url + "/__mockopper/")
        wait_for(browser, "return document.querySelectorAll('#rows tr.row').length === 1")
        [row] = browser.execute_script("return [...document.querySelectorAll('#rows tr.row')].map(r => r.innerText)")
        assert "forwarded, recorded" in row and "200" in row
    [rule] = yaml.safe_load(recording.read_text())["rules"]
    assert rule["reply"]["stream"]["chunks"] == tokens  # the page's chunks, as it got them

    mockopper.load(recording)  # and the page replays offline
    browser.get(other_origin + "/index.html")
    browser.execute_script(f"run({mockopper.base_url!r})")
    wait_for(browser, "return window.done === true")
    assert [piece for _, piece in browser.execute_script("return window.tokens")] == tokens
