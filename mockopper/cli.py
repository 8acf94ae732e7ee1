"""The `mockopper` command: serve, record, check, list, schema.

A thin shell over the package: scenario problems become `click.ClickException`s here,
at this one boundary.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from mockopper import __version__

DEFAULT_PORT = 8787


def _load(name: str) -> Any:
    from mockopper.loader import ScenarioError, load_file

    try:
        return load_file(name)
    except ScenarioError as exc:
        raise click.ClickException("the scenario has problems:\n" + str(exc)) from None


def _setup_lines(url: str, base: str) -> list[str]:
    return [
        f'OpenAI (Python)     OpenAI(base_url="{base}", api_key="mock")',
        f'Anthropic (Python)  Anthropic(base_url="{base}", api_key="mock")',
        f'Google (Python)     genai.Client(api_key="mock", http_options={{"base_url": "{base}"}})',
        f'OpenAI (JS)         new OpenAI({{ baseURL: "{base}", apiKey: "mock" }})',
        f'Anthropic (JS)      new Anthropic({{ baseURL: "{base}", apiKey: "mock" }})',
        f'Google (JS)         new GoogleGenAI({{ apiKey: "mock", httpOptions: {{ baseUrl: "{base}" }} }})',
        f'Vercel AI SDK       createOpenAICompatible({{ name: "opper", baseURL: "{base}", apiKey: "mock" }})',
        f'                    createAnthropic({{ baseURL: "{base}/v1", apiKey: "mock" }})',
        f'                    createGoogleGenerativeAI({{ baseURL: "{base}/v1beta", apiKey: "mock" }})',
        f"OpenResponses       {base}/openresponses (HTTP and WebSocket)",
        f'Opper (Python)      Opper(base_url="{url}", api_key="mock")  # opperai: models, spans, traces, Agent',
        f"Environment         OPENAI_BASE_URL={base} ANTHROPIC_BASE_URL={base} OPENAI_API_KEY=mock",
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _watch(path: Path, app: Any, stop: threading.Event) -> None:
    """Reload the scenario when its file changes; keep the last good one when an edit breaks it."""
    from mockopper.loader import ScenarioError, load_file

    def stamp() -> tuple[int, int] | None:
        try:
            st = path.stat()
            return st.st_mtime_ns, st.st_size
        except OSError:
            return None

    last = stamp()
    while not stop.wait(0.25):
        current = stamp()
        if current is None or current == last:
            continue
        last = current
        try:
            scenario = load_file(path)
        except ScenarioError as exc:
            click.secho(f"mockopper: {path} has problems; still serving the last good scenario:", fg="red", err=True)
            click.echo(str(exc), err=True)
            continue
        app.load(scenario)
        click.secho(f"mockopper: reloaded {path} ({len(scenario.rules)} rules)", fg="green", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockopper")
def main() -> None:
    """A local, offline, deterministic mock of Opper's compat API."""


def _server_options(command: Any) -> Any:
    """The options `serve` and `record` share."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; loopback by default."),
        click.option(
            "--port",
            "-p",
            default=DEFAULT_PORT,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="Port (0 to 65535); 0 picks a free one.",
        ),
        click.option("--api-key", default=None, help="Accept only this API key (any key is accepted otherwise)."),
        click.option(
            "--admin-token", default=None, help="Require this token for the admin API (and allow non-loopback)."
        ),
        click.option(
            "--cors-origin", "cors_origins", multiple=True, help="Allowed browser origin (repeatable; default any)."
        ),
        click.option(
            "--redact",
            multiple=True,
            metavar="REGEX",
            help="Replace what this pattern matches with *** in the recording (repeatable).",
        ),
        click.option(
            "--upstream-timeout",
            default=600.0,
            show_default=True,
            type=float,
            help="Seconds the upstream may take to answer before the caller gets a 504.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Do not log each request."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.option(
    "--scenario",
    "-s",
    default="default.yaml",
    show_default=True,
    help="Scenario file, or the name of a bundled one (flaky.yaml, tools.yaml, ...).",
)
@click.option(
    "--upstream",
    default=None,
    metavar="URL",
    help="Forward requests no rule answers to this compat API (e.g. https://api.opper.ai/v3/compat).",
)
@click.option(
    "--record",
    "record_file",
    default=None,
    metavar="FILE",
    help="Record every forwarded exchange as a rule in FILE (needs --upstream).",
)
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option("--watch", is_flag=True, help="Reload the scenario file when it changes.")
@click.option(
    "--max-body",
    default=32 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest request body in bytes.",
)
@click.option(
    "--journal-size", default=1000, show_default=True, type=click.IntRange(min=1), help="Requests kept in the journal."
)
@click.option(
    "--journal-body-limit",
    default=256 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Characters of JSON the journal keeps of a body; a larger one is cut (inline payloads are always short).",
)
@click.option(
    "--history-size",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Answers kept for previous_response_id and previous_interaction_id.",
)
@click.option(
    "--trace-size",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Traces kept for /v3/traces (each call's span keeps up to 8 KiB of its input and output text).",
)
@click.option(
    "--max-sessions",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Sessions (x-mockopper-session) kept at once; the least recently used goes first.",
)
@_server_options
def serve(
    scenario: str,
    upstream: str | None,
    record_file: str | None,
    seed: int | None,
    watch: bool,
    max_body: int,
    journal_size: int,
    journal_body_limit: int,
    history_size: int,
    trace_size: int,
    max_sessions: int,
    **options: Any,
) -> None:
    """Serve the mock compat API until interrupted."""
    if record_file is not None and upstream is None:
        raise click.UsageError("--record needs --upstream: a recording keeps what the upstream answers.")
    if options["redact"] and record_file is None:
        raise click.UsageError("--redact applies to recordings: give --record FILE too.")
    _serve(
        _load(scenario),
        scenario_path=scenario if watch else None,
        upstream=upstream,
        record=record_file,
        seed=seed,
        max_body_bytes=max_body,
        journal_size=journal_size,
        journal_body_limit=journal_body_limit,
        history_size=history_size,
        trace_size=trace_size,
        max_sessions=max_sessions,
        **options,
    )


@main.command()
@click.option(
    "--upstream", required=True, metavar="URL", help="The compat API to record (e.g. https://api.opper.ai/v3/compat)."
)
@click.option(
    "--out", "-o", required=True, metavar="FILE", help="The scenario file to record into (extended if it exists)."
)
@_server_options
def record(upstream: str, out: str, **options: Any) -> None:
    """Forward every request to the upstream and record each exchange as a rule in FILE."""
    from mockopper.scenarios import Scenario

    _serve(Scenario(name="record"), scenario_path=None, upstream=upstream, record=out, **options)


def _serve(
    loaded: Any,
    *,
    scenario_path: str | None,
    host: str,
    port: int,
    api_key: str | None,
    admin_token: str | None,
    cors_origins: tuple[str, ...],
    upstream: str | None,
    record: str | None,
    redact: tuple[str, ...],
    upstream_timeout: float,
    quiet: bool,
    **settings: Any,
) -> None:
    import uvicorn

    from mockopper.app import BASE_PATH, MockApp, Settings
    from mockopper.loader import resolve
    from mockopper.recorder import RecordingError
    from mockopper.server import bind, quiet_dropped_connections, uvicorn_config

    config = Settings(
        api_key=api_key,
        admin_token=admin_token,
        cors_origins=cors_origins or ("*",),
        upstream=upstream,
        upstream_timeout=upstream_timeout,
        record=record,
        redact=redact,
        **settings,
    )
    try:
        app = MockApp(loaded, config)
    except (RecordingError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    base = url + BASE_PATH

    if not _is_loopback(host):
        click.secho(
            f"WARNING: listening on {host}, not loopback: anyone who can reach this machine can use "
            "the mock" + ("." if admin_token else " (the admin API still refuses them without --admin-token)."),
            fg="red",
            bold=True,
            err=True,
        )
    click.echo(f"mockopper {__version__}: scenario {loaded.name!r} ({len(loaded.rules)} rules) on {url}")
    click.echo(f"Base URL   {base}")
    click.echo(f"Inspector  {url}/__mockopper/")
    for line in _setup_lines(url, base):
        click.echo("  " + line)
    if upstream is not None:
        from mockopper.upstream import display_url

        click.echo(f"Upstream   {display_url(upstream)} (what no rule answers is forwarded there)")
    if record is not None:
        click.echo(f"Recording  {record}")
    sys.stdout.flush()

    if not quiet:
        app.journal.subscribe(_log_line)
    stop = threading.Event()
    if scenario_path is not None:
        path = resolve(scenario_path)
        threading.Thread(target=_watch, args=(path, app, stop), daemon=True, name="mockopper-watch").start()
        click.echo(f"Watching   {path}")
    quiet_dropped_connections()
    try:
        uvicorn.Server(uvicorn_config(app, server_header=False)).run(sockets=[sock])
    finally:
        stop.set()


def _log_line(event: str, record: Any) -> None:
    if event != "done" or record is None:
        return
    rule = f" rule {record.rule!r}" if record.rule else (" UNMATCHED" if record.unmatched else "")
    rule += (" FORWARDED" + (" (recorded)" if record.recorded else "")) if record.forwarded else ""
    model = f" {record.answered_by or record.model}" if (record.answered_by or record.model) else ""
    took = f" {record.duration_ms:.1f}ms" if record.duration_ms is not None else ""
    extra = f" ({record.outcome})" if record.outcome not in ("complete", "error") else ""
    session = f" [{record.session}]" if record.session is not None else ""
    click.echo(
        f"{time.strftime('%H:%M:%S')}{session} {record.method} {record.path} {record.status}{model}{rule}{took}{extra}",
        err=True,
    )


@main.command()
@click.argument("files", nargs=-1, required=True)
def check(files: tuple[str, ...]) -> None:
    """Validate scenario files; exit 1 if any has problems."""
    from mockopper.loader import ScenarioError, load_file

    failed = False
    for name in files:
        try:
            scenario = load_file(name)
        except ScenarioError as exc:
            failed = True
            click.echo(str(exc), err=True)
            continue
        click.echo(f"{name}: ok ({len(scenario.rules)} rules)")
    if failed:
        sys.exit(1)


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_summary(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_summary(v) for v in value) + "]"
    return json.dumps(value) if not isinstance(value, str) else value


@main.command(name="list")
@click.argument("file")
def list_rules(file: str) -> None:
    """Show a scenario's rules in match order."""
    scenario = _load(file)
    click.echo(f"{scenario.name}: {len(scenario.rules)} rules, first match wins")
    for index, rule in enumerate(scenario.rules):
        match = rule.match.model_dump(exclude_none=True, by_alias=True)
        replies = [rule.reply] if rule.reply else list(rule.replies or [])
        kinds = " -> ".join(
            f"error {r.error.status}" if r.error else f"{r.kind} (format: {r.format})" if r.format else r.kind
            for r in replies
        )
        extra = f" (times: {rule.times})" if rule.times else ""
        extra += " (then cycle)" if rule.then == "cycle" else ""
        click.echo(f"{index + 1:3}. {scenario.rule_name(index)}{extra}")
        click.echo(f"       match  {_summary(match) if match else 'anything'}")
        click.echo(f"       reply  {kinds}")
    if scenario.models:
        click.echo("models:")
        for name, spec in scenario.models.items():
            desc = spec.model_dump(exclude_none=True)
            click.echo(f"  {name}: {_summary(desc) if desc else 'healthy'}")
    if scenario.guards:
        click.echo("guards (every request):")
        for guard in scenario.guards:
            click.echo(f"  {guard.name}: {guard.type} on {guard.applies_to}, {guard.action}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    from mockopper.scenarios import Scenario

    document = Scenario.model_json_schema(by_alias=True)
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **document, "title": "mockopper scenario"}
    click.echo(json.dumps(document, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
