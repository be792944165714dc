"""The mock OpenAI server: scripted Responses-API streams, side requests, transcription, CLI."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.mock_openai import RequestLog, serve_mock_openai
from tools.mock_openai.multipart import MultipartError, parse_multipart
from tools.mock_openai.prose import long_markdown
from tools.mock_openai.script import (
    ASKED_PREFIX,
    PATCH_LINE,
    AskCall,
    PatchCall,
    ReplyPlan,
    TextAnswer,
    ToolCall,
    find_ask,
    find_command,
    find_patch,
    is_injected,
    plan_reply,
)
from tools.mock_openai.sse import build_events

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
async def mock(nursery: trio.Nursery) -> tuple[httpx.AsyncClient, RequestLog]:
    log = RequestLog()
    port = await nursery.start(functools.partial(serve_mock_openai, log=log))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10)
    nursery.start_soon(_close_at_end, client)
    return client, log


async def _close_at_end(client: httpx.AsyncClient) -> None:
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await client.aclose()


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def body(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "mock-model", "stream": True, "input": list(items), **extra}


ENV = user("<environment_context>\n  <cwd>/w/proj</cwd>\n</environment_context>")


def parse_sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def stream(
    client: httpx.AsyncClient, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    with trio.fail_after(10):
        response = await client.post("/v1/responses", json=payload, headers=headers or {})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    return parse_sse(response.text)


def done_items(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [data["item"] for name, data in events if name == "response.output_item.done"]


def answer_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    messages = [item for item in done_items(events) if item["type"] == "message"]
    assert len(messages) == 1
    return str(messages[0]["content"][0]["text"])


async def test_plain_reply_event_sequence(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, log = mock
    events = await stream(client, body(ENV, user("hello mock")))
    names = [name for name, _ in events]
    assert names[:3] == ["response.created", "response.output_item.added", "response.content_part.added"]
    assert names[-3:] == ["response.output_text.done", "response.output_item.done", "response.completed"]
    deltas = "".join(data["delta"] for name, data in events if name == "response.output_text.delta")
    assert deltas == "MOCK_REPLY: you said: hello mock" == answer_text(events)
    usage = events[-1][1]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert [r["prompt"] for r in log.records] == ["hello mock"]
    (record,) = log.records  # each delta's write time and the characters streamed so far, for benchmarks
    assert [n for _, n in record["deltas"]][-1] == len(deltas)
    assert [t for t, _ in record["deltas"]] == sorted(t for t, _ in record["deltas"])


async def test_reasoning_comes_first(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    events = await stream(client, body(user("please think about the plan")))
    items = done_items(events)
    assert [item["type"] for item in items] == ["reasoning", "message"]
    summary = items[0]["summary"][0]["text"]
    assert summary.startswith("**Planning the mock answer**\n\n")
    assert summary.endswith("pretending to think about: please think about the plan")
    assert items[0]["encrypted_content"] is None


async def test_run_then_tool_done(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    first = await stream(client, body(user("run ls -la")))
    (call,) = done_items(first)
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    args = json.loads(call["arguments"])
    assert args["cmd"] == "ls -la"
    assert "sandbox_permissions" not in args
    output = {
        "type": "function_call_output",
        "call_id": call["call_id"],
        "output": "Chunk ID: 1\nWall time: 0.0 seconds\nProcess exited with code 3\nOriginal token count: 2\n"
        "Output:\n" + "\n".join(f"line {n}" for n in range(1, 13)) + "\n",
    }
    second = await stream(client, body(user("run ls -la"), call, output))
    text = answer_text(second)
    assert text.startswith("MOCK_TOOL_DONE: the command finished (exit code 3). Last output lines:")
    assert "line 12" in text and "line 3\n" in text and "line 2\n" not in text  # the last 10 lines


async def test_patch_calls_apply_patch_then_tool_done(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, log = mock
    first = await stream(client, body(ENV, user("patch notes.txt hello there")))
    names = [name for name, _ in first]
    assert names == ["response.created", "response.output_item.added", "response.custom_tool_call_input.delta",
                     "response.output_item.done", "response.completed"]
    (call,) = done_items(first)
    assert call["type"] == "custom_tool_call" and call["name"] == "apply_patch"  # Codex's freeform tool
    assert call["input"] == first[2][1]["delta"] == (
        f"*** Begin Patch\n*** Add File: notes.txt\n+{PATCH_LINE}\n+hello there\n*** End Patch\n")
    output = {"type": "custom_tool_call_output", "call_id": call["call_id"],
              "output": "Success. Updated the following files:\nA notes.txt\n"}
    second = await stream(client, body(ENV, user("patch notes.txt hello there"), call, output))
    text = answer_text(second)
    assert text.startswith("MOCK_TOOL_DONE") and "A notes.txt" in text
    assert [r["kind"] for r in log.records] == ["turn", "tool_done"]
    assert log.records[0]["reply"] == "PatchCall"


async def test_ask_calls_request_user_input_then_quotes_the_answer(
        mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, log = mock
    first = await stream(client, body(ENV, user("ask which colour")))
    (call,) = done_items(first)
    assert call["type"] == "function_call" and call["name"] == "request_user_input"
    (question,) = json.loads(call["arguments"])["questions"]
    # the tool's parameters as Codex 0.169 offers them: id, header, question, 2-3 options of label + description
    assert set(question) == {"id", "header", "question", "options"}
    assert question["id"] == "colour" and len(question["header"]) <= 12
    assert [o["label"] for o in question["options"]] == ["Red (Recommended)", "Green", "Blue"]
    assert all(set(o) == {"label", "description"} for o in question["options"])
    answer = '{"answers":{"colour":{"answers":["Green"]}}}'
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": answer}
    second = await stream(client, body(ENV, user("ask which colour"), call, output))
    assert answer_text(second) == ASKED_PREFIX + answer
    refused = {**output, "output": "request_user_input is unavailable in Default mode"}  # measured, 0.169
    third = await stream(client, body(ENV, user("ask which colour"), call, refused))
    assert answer_text(third) == ASKED_PREFIX + "request_user_input is unavailable in Default mode"
    assert [r["reply"] for r in log.records] == ["AskCall", "TextAnswer", "TextAnswer"]


@pytest.mark.parametrize(
    ("prompt", "ask"),
    [("ask me", AskCall(1)), ("please ASK 3 things", AskCall(3)), ("ask 5", AskCall(1)), ("basket", None),
     ("task done", None)],
)
def test_find_ask(prompt: str, ask: AskCall | None) -> None:
    assert find_ask(prompt) == ask
    if ask is not None:
        questions = json.loads(ask.arguments)["questions"]
        assert len(questions) == ask.count == len({q["id"] for q in questions})


def test_run_and_patch_win_over_ask() -> None:
    assert isinstance(plan_reply(body(user("ask then run `ls`")), {}).action, ToolCall)
    assert isinstance(plan_reply(body(user("ask then patch a.txt")), {}).action, PatchCall)


@pytest.mark.parametrize(
    ("prompt", "patch"),
    [
        ("patch a.txt", PatchCall("a.txt")),
        ("please patch `dir/my file.md` now escalate", PatchCall("dir/my file.md", (PATCH_LINE, "now"))),
        ("patch /tmp/x.txt two words\nnext line", PatchCall("/tmp/x.txt", (PATCH_LINE, "two words"))),
        ("dispatch a.txt", None),
        ("patch", None),
        ("no patch here", None),
        ("patch `here`", PatchCall("here")),
    ],
)
def test_find_patch(prompt: str, patch: PatchCall | None) -> None:
    assert find_patch(prompt) == patch


def test_run_wins_over_patch() -> None:
    plan = plan_reply(body(user("run `ls` then patch a.txt")), {})
    assert type(plan.action).__name__ == "ToolCall"


async def test_steps_repeat_the_command_then_finish(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    items: list[dict[str, Any]] = [user("steps 3: run `echo hi`")]
    for n in range(3):
        (call,) = done_items(await stream(client, body(*items)))
        assert call["type"] == "function_call" and json.loads(call["arguments"])["cmd"] == "echo hi", n
        items += [call, {"type": "function_call_output", "call_id": call["call_id"],
                         "output": "Process exited with code 0\nOutput:\nhi\n"}]
    assert answer_text(await stream(client, body(*items))).startswith("MOCK_TOOL_DONE")


async def test_escalation_request(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    events = await stream(client, body(user("run touch /etc/x.txt escalate")))
    args = json.loads(done_items(events)[0]["arguments"])
    assert args["cmd"] == "touch /etc/x.txt"
    assert args["sandbox_permissions"] == "require_escalated"
    assert args["justification"] == "Mock model wants to run `touch /etc/x.txt` outside the sandbox"


async def test_failure_and_http_500(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    events = await stream(client, body(user("mock:fail now")))
    assert [name for name, _ in events] == ["response.created", "response.failed"]
    assert events[1][1]["response"]["error"]["message"] == "mock: simulated failure"
    with trio.fail_after(10):
        response = await client.post("/v1/responses", json=body(user("mock:http500 now")))
    assert response.status_code == 500
    assert "error" in response.json()


async def test_long_prompt_ignores_keywords(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    prompt = "run ls and think mock:fail " + "x" * 700
    events = await stream(client, body(user(prompt)))
    assert answer_text(events) == f"MOCK_REPLY: received a {len(prompt)}-character prompt."


async def test_long_answer(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    text = answer_text(await stream(client, body(user("long 10000"))))
    assert len(text) == 10000
    assert "```python" in text and "**bold words**" in text and "\n- " in text and "\n> " in text


async def test_prompt_is_the_last_genuine_user_message(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    old_call = {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"}
    old_output = {"type": "function_call_output", "call_id": "c1", "output": "Process exited with code 0"}
    agents = user("# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>\nx\n</INSTRUCTIONS>")
    aborted = user("<turn_aborted>\nThe user interrupted.\n</turn_aborted>")
    events = await stream(
        client, body(ENV, user("run ls"), old_call, old_output, user("second"), agents, aborted)
    )
    assert answer_text(events) == "MOCK_REPLY: you said: second"


async def test_title_request(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, log = mock
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    prompt = user("Generate a concise title.\nUser prompt:\nhello wonderful mock world again and again")
    meta = json.dumps({"thread_source": "thread_title"})
    events = await stream(
        client,
        body(prompt, text={"format": {"type": "json_schema", "schema": schema}}),
        {"x-codex-turn-metadata": meta},
    )
    title = json.loads(answer_text(events))["title"]
    assert title == "Mock hello wonderful mock world"
    assert len(title) <= 36
    assert log.records[-1]["kind"] == "title"


async def test_compaction_review_init_and_schema(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    compaction = await stream(
        client,
        body(user("earlier ask"), user("You are performing a CONTEXT CHECKPOINT COMPACTION. Summarise.")),
        {"x-codex-turn-metadata": json.dumps({"request_kind": "compaction"})},
    )
    assert answer_text(compaction) == "Mock compaction summary: the last user request was: earlier ask"

    developer = {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "# Review guidelines:\n…"}],
    }
    review = json.loads(answer_text(await stream(client, body(developer, ENV, user("review it")))))
    assert review["overall_correctness"] == "patch is correct"
    (finding,) = review["findings"]
    assert finding["priority"] == 3
    assert finding["code_location"]["absolute_file_path"] == "/w/proj/README.md"

    init = user("Generate a file named AGENTS.md that serves as a contributor guide.")
    (call,) = done_items(await stream(client, body(init)))
    assert "AGENTS.md" in json.loads(call["arguments"])["cmd"]
    output = {
        "type": "function_call_output",
        "call_id": call["call_id"],
        "output": "Process exited with code 0\nOutput:\nwrote AGENTS.md\n",
    }
    assert "wrote AGENTS.md" in answer_text(await stream(client, body(init, call, output)))

    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "tags": {"type": "array"}, "mode": {"enum": ["a", "b"]}},
        "required": ["n", "tags", "mode"],
    }
    other = await stream(client, body(user("x"), text={"format": {"type": "json_schema", "schema": schema}}))
    assert json.loads(answer_text(other)) == {"n": 0, "tags": [], "mode": "a"}


async def test_slow_reply_takes_its_time(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    start = trio.current_time()
    events = await stream(client, body(user("slow 0.6 tell me")))
    assert trio.current_time() - start >= 0.55
    assert answer_text(events) == "MOCK_REPLY: you said: slow 0.6 tell me"


def test_slow_plan_spreads_deltas_over_the_second_half() -> None:
    plan = ReplyPlan("turn", "p", TextAnswer("one two three four"), slow_seconds=4.0)
    events = build_events(plan)
    deltas = [e for e in events if e.event == "response.output_text.delta"]
    assert [e.data["delta"] for e in deltas] == ["one ", "two ", "three ", "four"]
    assert deltas[0].delay == pytest.approx(2.0 + 0.5)
    assert sum(e.delay for e in events) == pytest.approx(4.0)


async def test_transcription(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, log = mock
    files = {"file": ("voice.ogg", b"TRANSCRIPT: hello from voice\n", "audio/ogg")}
    with trio.fail_after(10):
        unauthorised = await client.post("/v1/audio/transcriptions", data={"model": "whisper-1"}, files=files)
        spoken = await client.post(
            "/v1/audio/transcriptions",
            data={"model": "whisper-1"},
            files=files,
            headers={"Authorization": "Bearer sk-test"},
        )
        noise = await client.post(
            "/v1/audio/transcriptions",
            data={"model": "whisper-1"},
            files={"file": ("a.ogg", b"\x00\x01OggS" * 10, "audio/ogg")},
            headers={"Authorization": "Bearer sk-test"},
        )
        no_model = await client.post(
            "/v1/audio/transcriptions", files=files, headers={"Authorization": "Bearer sk-test"}
        )
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["code"] == "invalid_api_key"
    assert spoken.status_code == 200 and spoken.json() == {"text": "hello from voice"}
    assert noise.json() == {"text": "mock transcript of 60 bytes"}
    assert no_model.status_code == 400
    assert log.records[1]["body"]["file"] == {
        "filename": "voice.ogg",
        "content_type": "audio/ogg",
        "size": 29,
    }


async def test_request_log_endpoint_health_and_404(mock: tuple[httpx.AsyncClient, RequestLog]) -> None:
    client, _ = mock
    with trio.fail_after(10):
        await client.post("/v1/responses", json=body(user("hello")))
        health = await client.get("/health")
        missing = await client.get("/v1/nothing")
        records = (await client.get("/__requests")).json()
    assert health.json() == {"status": "ok"}
    assert missing.status_code == 404
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("POST", "/v1/responses", 200),
        ("GET", "/health", 200),
        ("GET", "/v1/nothing", 404),
    ]


async def test_client_that_hangs_up_mid_stream_does_not_hurt_the_server(
    mock: tuple[httpx.AsyncClient, RequestLog],
) -> None:
    client, log = mock
    payload = json.dumps(body(user("slow 5 story"))).encode()
    head = (
        f"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with trio.fail_after(10):
        sock = await trio.open_tcp_stream("127.0.0.1", client.base_url.port or 0)
        async with sock:  # leaving it hangs up during the silent first half, like Codex on Esc
            await sock.send_all(head + payload)
            received = b""
            while b"response.created" not in received:
                chunk = await sock.receive_some(65536)
                assert chunk, "server closed the connection early"
                received += chunk
        text = answer_text(await stream(client, body(user("still there?"))))
    assert text == "MOCK_REPLY: you said: still there?"
    for _ in range(100):
        if any(r.get("aborted") for r in log.records):
            break
        await trio.sleep(0.05)
    assert [r["prompt"] for r in log.records if r.get("aborted")] == ["slow 5 story"]


def test_cli_prints_listening_and_writes_port_file(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.mock_openai",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--lifetime",
            "30",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded: --lifetime ends the process
        assert line.startswith("LISTENING 127.0.0.1:")
        assert line.strip().rsplit(":", 1)[1] == port_file.read_text().strip()
        with httpx.Client(trust_env=False, timeout=5) as http:
            assert http.get(f"http://127.0.0.1:{port_file.read_text().strip()}/health").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(
    ("prompt", "command"),
    [
        ("run ls -la", "ls -la"),
        ("please look\nrun echo hi escalate", "echo hi"),
        ("think and run git status", "git status"),
        ("could you run `make test` for me", "make test"),
        ("I like to run fast", None),
        ("no command here", None),
    ],
)
def test_find_command(prompt: str, command: str | None) -> None:
    assert find_command(prompt) == command


def test_injected_blocks() -> None:
    assert is_injected("<environment_context>\n<cwd>/x</cwd>\n</environment_context>")
    assert is_injected("<permissions instructions>\n…\n</permissions instructions>")
    assert is_injected("# AGENTS.md instructions for /x")
    assert not is_injected("hello <b>")
    assert not is_injected("run ls")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=5000))
def test_long_markdown_has_exact_length_and_closed_fences(n: int) -> None:
    text = long_markdown(n)
    assert len(text) == n
    assert text == text.rstrip()
    assert text.count("```") % 2 == 0


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.text(max_size=5) | st.integers(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    )
)
def test_plan_reply_is_total(input_value: Any) -> None:
    plan = plan_reply({"input": input_value}, {"x-codex-turn-metadata": "not json"})
    assert plan.kind in {"turn", "tool_done", "title", "compaction", "review", "init", "json_schema"}


def test_multipart_errors() -> None:
    with pytest.raises(MultipartError):
        parse_multipart(b"x", "application/json")
    with pytest.raises(MultipartError):
        parse_multipart(b"--zz\r\nno header end", "multipart/form-data; boundary=zz")
