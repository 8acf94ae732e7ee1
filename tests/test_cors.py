"""CORS: browsers on other origins may call every surface (preflights are raw HTTP: only browsers send them)."""

from __future__ import annotations

import httpx2
import pytest

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

SDK_HEADERS = (
    "authorization, content-type, x-api-key, anthropic-version, anthropic-beta, "
    "anthropic-dangerous-direct-browser-access, x-goog-api-key, x-goog-api-client, "
    "x-stainless-os, x-stainless-lang, x-stainless-package-version, x-stainless-runtime, "
    "x-stainless-runtime-version, x-stainless-arch, x-stainless-retry-count, x-stainless-timeout, "
    "x-stainless-helper-method, openai-organization, openai-project, x-opper-api-key"
)

PATHS = [
    "/chat/completions",
    "/responses",
    "/embeddings",
    "/v1/messages",
    "/messages",
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    "/v1beta/interactions",
    "/models",
    "/v1/models",
]


@pytest.mark.parametrize("path", PATHS)
def test_preflight_allows_the_headers_the_sdks_send(mockopper: Mockopper, path: str) -> None:
    response = httpx2.options(
        mockopper.base_url + path,
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": SDK_HEADERS,
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].lower().split(",")}
    assert {h.strip() for h in SDK_HEADERS.split(",")} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert mockopper.requests == []  # no key needed, nothing journaled


def test_responses_expose_mockopper_and_retry_headers(mockopper: Mockopper) -> None:
    response = httpx2.post(
        mockopper.base_url + "/chat/completions",
        headers={"origin": "http://localhost:5173", "authorization": "Bearer k"},
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"].lower()
    for name in ("x-mockopper-model", "x-mockopper-attempts", "retry-after", "retry-after-ms"):
        assert name in exposed


def test_origins_can_be_restricted() -> None:
    with MockServer(cors_origins=("http://app.test",)) as server:

        def preflight(origin: str) -> httpx2.Response:
            return httpx2.options(
                server.base_url + "/chat/completions",
                headers={
                    "origin": origin,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "authorization, content-type",
                },
            )

        assert preflight("http://app.test").headers["access-control-allow-origin"] == "http://app.test"
        refused = preflight("http://evil.test")
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
