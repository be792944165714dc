"""ccbot.transcribe over an in-memory ``httpx.MockTransport``: the request it makes, the answers it accepts,
and that the API key never shows in an error."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccbot.transcribe import MODEL, TranscriptionError, transcribe
from tests.multipart import multipart

KEY = "sk-test-SECRETSECRET-0123456789abcdef"
BASE = "https://api.openai.test/v1"
AUDIO = b"OggS\x00\x02fake-opus-bytes"


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def error_text(exc: BaseException) -> str:
    """Everything a log line could show about ``exc``: its text, repr and formatted traceback."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


async def test_posts_multipart_with_bearer_and_returns_stripped_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={"text": "  hello from voice \n"})

    async with client_for(handler) as client:
        text = await transcribe(client, AUDIO, api_key=KEY, base_url=BASE + "/", filename="voice.ogg")
    assert text == "hello from voice"
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.test/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    fields = multipart(request)
    assert fields["model"] == (None, "text/plain", MODEL.encode())
    assert fields["file"] == ("voice.ogg", "audio/ogg", AUDIO)
    assert set(fields) == {"model", "file"}


async def test_empty_transcript_is_returned_empty() -> None:
    async with client_for(lambda r: httpx.Response(200, json={"text": "   "})) as client:
        assert await transcribe(client, AUDIO, api_key=KEY, base_url=BASE) == ""


@pytest.mark.parametrize(("status", "phrase"), [
    (401, "API key was refused"), (429, "rate limit"), (500, "service failed"), (400, "HTTP 400")])
async def test_http_errors_name_the_status_and_never_the_key(status: int, phrase: str) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}. Find yours at ...",
                      "type": "invalid_request_error"}}
    async with client_for(lambda r: httpx.Response(status, json=body)) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=KEY, base_url=BASE)
    assert info.value.status == status
    assert phrase in str(info.value)
    assert "Incorrect API key provided" in str(info.value)  # the server's words are kept ...
    assert KEY not in error_text(info.value)  # ... without the key
    assert "<redacted>" in str(info.value)


async def test_non_json_error_body_is_quoted_briefly() -> None:
    answer = httpx.Response(502, text="<html>Bad gateway</html>" + "x" * 5000)
    async with client_for(lambda r: answer) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=KEY, base_url=BASE)
    assert "Bad gateway" in str(info.value)
    assert len(str(info.value)) < 400


async def test_transport_error_is_wrapped_without_key_or_context() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused while sending Authorization: Bearer {KEY}",
                                 request=request)

    async with client_for(handler) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=KEY, base_url=BASE)
    assert "could not reach" in str(info.value)
    assert "ConnectError" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert KEY not in error_text(info.value)


@pytest.mark.parametrize("answer", [httpx.Response(200, text="plain words"),
                                    httpx.Response(200, json={"t": 1}),
                                    httpx.Response(200, json=["text"])])
async def test_malformed_success_answers_are_errors(answer: httpx.Response) -> None:
    async with client_for(lambda r: answer) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=KEY, base_url=BASE)
    assert info.value.status == 200


@pytest.mark.parametrize("bad_key", ["sk-abc\ndef", "sk-ключ", "sk abc", ""])
async def test_unsendable_key_is_refused_before_any_request(bad_key: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"text": "x"})

    async with client_for(handler) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=bad_key, base_url=BASE)
    assert calls == []
    if bad_key:
        assert bad_key not in error_text(info.value)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12, max_size=60),
       status=st.sampled_from([400, 401, 403, 404, 429, 500, 503]),
       shape=st.sampled_from(["message", "string", "raw", "nested"]))
async def test_key_never_leaks_whatever_the_server_echoes(key: str, status: int, shape: str) -> None:
    echoed = f"bad key {key} (Bearer {key})"
    bodies: dict[str, httpx.Response] = {
        "message": httpx.Response(status, json={"error": {"message": echoed}}),
        "string": httpx.Response(status, json={"error": echoed}),
        "raw": httpx.Response(status, text=echoed),
        "nested": httpx.Response(status, json={"detail": {"why": echoed}}),
    }
    async with client_for(lambda r: bodies[shape]) as client:
        with pytest.raises(TranscriptionError) as info:
            await transcribe(client, AUDIO, api_key=key, base_url=BASE)
    assert key not in error_text(info.value)
    assert json.dumps(key)[1:-1] not in str(info.value)
