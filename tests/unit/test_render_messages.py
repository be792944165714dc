"""Tests for ccbot.render.messages: records → Telegram messages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ccbot.codex.records import (
    AssistantMessage,
    CommandRun,
    Compacted,
    PatchApplied,
    Reasoning,
    ReviewFinished,
    ReviewStarted,
    SessionMeta,
    TokenUsage,
    ToolCall,
    ToolOutput,
    TurnAborted,
    TurnComplete,
    TurnStarted,
    UserMessage,
)
from ccbot.codex.rollout import decode_lines
from ccbot.render.markdown import md_to_html
from ccbot.render.messages import (
    KINDS,
    Rendered,
    RenderOptions,
    format_duration,
    format_tokens,
    render,
    render_conversation,
)
from ccbot.render.tg_html import parse_html
from tests.conftest import DATA
from tools.fakegram.trim import strip_and_trim


def rollouts() -> list[Path]:
    found: list[Path] = []
    for folder in (DATA / "rollouts", DATA / "codex-0.169"):
        if folder.is_dir():
            found.extend(sorted(folder.rglob("*.jsonl")))
    return found


def decoded(path: Path) -> list:  # type: ignore[type-arg]
    return decode_lines(line for line in path.read_bytes().split(b"\n") if line.strip())


def run(command: str = "pytest", **kw: object) -> CommandRun:
    fields: dict[str, object] = {
        "call_id": "c1",
        "command": command,
        "exit_code": 0,
        "output": "",
        "duration_s": 0.5,
        "status": "completed",
    }
    fields.update(kw)
    return CommandRun(**fields)  # type: ignore[arg-type]


def one(record: object, options: RenderOptions | None = None) -> Rendered:
    (message,) = render(record, options)  # type: ignore[arg-type]
    return message


# --- single records --------------------------------------------------------------------------


def test_assistant_message_is_markdown() -> None:
    msg = one(AssistantMessage("Hello **world**", turn_id="t1"))
    assert msg == Rendered("assistant", "Hello <b>world</b>", "Hello world", "t1")


def test_thinking_is_an_expandable_blockquote() -> None:
    msg = one(Reasoning("**Planning the mock answer**\n\nThe model <thinks> & plans"))
    assert msg.kind == "thinking"
    assert msg.html == (
        "<blockquote expandable><b>Planning the mock answer</b>\n\n"
        "The model &lt;thinks&gt; &amp; plans</blockquote>"
    )
    assert [e.type for e in parse_html(msg.html).entities] == ["expandable_blockquote", "bold"]
    assert render(Reasoning("x"), RenderOptions(show_thinking=False)) == []


def test_command_summary() -> None:
    output = "\n".join(f"line {i}" for i in range(42)) + "\n"
    assert one(run(output=output)).html == "Ran <code>pytest</code> · exit 0 · 42 lines"
    assert (
        one(run(exit_code=2, output="E\n", status="failed")).html
        == "Ran <code>pytest</code> · exit 2 · 1 line"
    )
    assert one(run(output="")).html == "Ran <code>pytest</code> · exit 0 · no output"
    assert (
        one(run("a < b && c", output="x")).html == "Ran <code>a &lt; b &amp;&amp; c</code> · exit 0 · 1 line"
    )
    slow = one(run(output="x", duration_s=75.0)).html
    assert slow == "Ran <code>pytest</code> · exit 0 · 1 line · 1 min 15 s"
    assert one(run(output="x")).kind == "tool"


def test_read_list_and_search_commands_name_their_target() -> None:
    output = "\n".join("x" for _ in range(42))
    read = run("sed -n 1,42p src/app.py", output=output, action="read", target="src/app.py")
    assert one(read).html == "Read <code>src/app.py</code> · 42 lines"
    listed = run("ls", output="a\nb\n", action="list_files", target="src")
    assert one(listed).html == "Listed <code>src</code> · 2 lines"
    failed_read = run(
        "cat nope", exit_code=1, output="cat: nope: No such file\n", action="read", target="nope"
    )
    assert one(failed_read).html == "Read <code>nope</code> · exit 1 · 1 line"
    untargeted = run("ls -la", output="a\n", action="list_files", target=None)
    assert one(untargeted).html == "Ran <code>ls -la</code> · exit 0 · 1 line"


def test_multiline_command_goes_into_a_code_block() -> None:
    command = "cat > f.txt <<'EOF'\nhello\nEOF"
    html = one(run(command, output="")).html
    assert html == (
        "Ran · exit 0 · no output\n"
        "<pre><code class=\"language-bash\">cat &gt; f.txt &lt;&lt;'EOF'\nhello\nEOF</code></pre>"
    )
    assert parse_html(html).entities[0].language == "bash"


def test_aborted_command() -> None:
    html = one(run("rm -rf x", exit_code=None, output="aborted by user", status="aborted")).html
    assert html == "Ran <code>rm -rf x</code> · aborted"


def test_patch_summaries() -> None:
    many = one(PatchApplied(("a.py", "b.py", "c.py"), 12, 4, True)).html
    assert many == "Edited 3 files +12 \u22124\n<code>a.py</code>\n<code>b.py</code>\n<code>c.py</code>"
    single = one(PatchApplied(("src/x.py",), 1, 0, True)).html
    assert single == "Edited <code>src/x.py</code> +1 \u22120"
    failed = one(PatchApplied(("x.py",), 0, 0, False, detail="Failed to find <context>")).html
    assert failed == "✗ Edit failed <code>x.py</code>\n<pre>Failed to find &lt;context&gt;</pre>"


def test_other_tool_output() -> None:
    assert (
        one(ToolOutput("c", "a\nb", None, None, name="view_image")).html
        == "Used <code>view_image</code> · 2 lines"
    )
    assert one(ToolOutput("c", "", 0, None)).html == "Tool result · exit 0 · no output"


def test_turn_end_messages() -> None:
    done = one(TurnComplete(8200, 1234, None, turn_id="t"))
    assert (done.kind, done.html, done.turn_id) == ("turn_done", "✓ Done in 8.2 s · 1.2k tokens", "t")
    assert one(TurnComplete(None, None, None)).html == "✓ Done"
    failed = one(TurnComplete(1100, None, "stream disconnected: <mock>"))
    assert (failed.kind, failed.html) == ("error", "✗ Failed after 1.1 s: stream disconnected: &lt;mock&gt;")
    aborted = one(TurnAborted("interrupted", 1516))
    assert (aborted.kind, aborted.html) == ("interrupted", "■ Interrupted after 1.5 s")
    assert one(TurnAborted("replaced", None)).html == "■ Turn aborted (replaced)"


def test_status_messages() -> None:
    assert one(Compacted("summary")).html == "Context compacted"
    assert one(ReviewStarted("current changes")).html == "Review started: current changes"
    assert (
        one(ReviewFinished("text", 2, "patch is incorrect")).html
        == "Review finished · patch is incorrect · 2 findings"
    )
    assert {one(r).kind for r in (Compacted(), ReviewStarted("h"), ReviewFinished("t"))} == {"status"}


def test_user_messages_only_when_asked() -> None:
    prompt = UserMessage("fix <it>", turn_id="t")
    assert render(prompt) == []
    echoed = one(prompt, RenderOptions(echo_user=True))
    assert (echoed.kind, echoed.html) == ("user", "\u276f fix &lt;it&gt;")
    assert render(UserMessage("review prompt", agent="review"), RenderOptions(echo_user=True)) == []


def test_local_user_shell_command_is_a_user_line() -> None:
    local = one(run("ls", output="a\nb\nc\n", source="user_shell"))
    assert (local.kind, local.html) == ("user", "\u276f <code>ls</code> · exit 0 · 3 lines")


@pytest.mark.parametrize(
    "record",
    [
        SessionMeta("id", None, None, None, None, None, None),
        TurnStarted(turn_id="t"),
        TokenUsage(1, 0, 1, 0, 2),
        ToolCall("c", "exec_command", "ls", "{}"),
        UserMessage("   "),
        AssistantMessage("  \n "),
    ],
)
def test_records_that_are_not_shown(record: object) -> None:
    assert render(record, RenderOptions(echo_user=True)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0.0 s"),
        (188, "0.2 s"),
        (8200, "8.2 s"),
        (59_949, "59.9 s"),
        (60_000, "1 min 0 s"),
        (3_725_000, "1 h 2 min"),
    ],
)
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1 token"),
        (950, "950 tokens"),
        (1234, "1.2k tokens"),
        (8739, "8.7k tokens"),
        (187_400, "187k tokens"),
        (1_250_000, "1.2M tokens"),
    ],
)
def test_format_tokens(n: int, text: str) -> None:
    assert format_tokens(n) == text


# --- long content is split, never cut ----------------------------------------------------------


def test_long_assistant_answer_is_split_into_valid_messages() -> None:
    recorded = DATA / "codex-0.169" / "rollouts" / "long.jsonl"
    if recorded.exists():  # the real 10 000-character mock answer
        (answer,) = [r for r in decoded(recorded) if isinstance(r, AssistantMessage)]
    else:
        answer = AssistantMessage("\n\n".join(f"Paragraph {i} " + "**word** " * 60 for i in range(40)))
    messages = render(answer)
    full = parse_html(md_to_html(answer.text)).text
    assert len(full) > 4096
    assert len(messages) >= 2
    assert {m.kind for m in messages} == {"assistant"}
    for m in messages:
        assert 0 < len(strip_and_trim(parse_html(m.html)).text) <= 4096
        assert m.plain == parse_html(m.html).text
    assert "".join(m.plain for m in messages).split() == full.split()


def test_small_limit_splits_tool_summaries_too() -> None:
    command = "echo " + " ".join(f"arg{i}" for i in range(100))
    messages = render(run(command, output="x"), RenderOptions(limit=100))
    assert len(messages) > 3
    assert (
        "".join(m.plain for m in messages).split()
        == parse_html(render(run(command, output="x"))[0].html).text.split()
    )


# --- whole conversations ----------------------------------------------------------------------


def test_real_rollout_conversation() -> None:
    messages = render_conversation(decoded(DATA / "rollouts" / "codex-0.169-main.jsonl"))
    kinds = Counter(m.kind for m in messages)
    # 9 prompts minus the review sub-agent's; 8 answers; 1 reasoning; 3 commands; 9 turns completed
    # without error; 1 interrupted; review start + finish + compaction.
    assert kinds == {
        "user": 8,
        "assistant": 8,
        "thinking": 1,
        "tool": 3,
        "turn_done": 9,
        "interrupted": 1,
        "status": 3,
    }
    assert messages[0] == Rendered(
        "user", "\u276f hello mock", "\u276f hello mock", "01a20a5a-0367-7342-b643-353fbc7bf719"
    )
    assert [m.kind for m in messages[:3]] == ["user", "assistant", "turn_done"]
    assert messages[2].html == "✓ Done in 0.2 s · 8.7k tokens"
    tools = [m.html for m in messages if m.kind == "tool"]
    assert tools[0] == "Ran <code>ls -la</code> · exit 0 · 8 lines"
    assert render_conversation(decoded(DATA / "rollouts" / "codex-0.169-main.jsonl"), RenderOptions()) == [
        m for m in messages if m.kind != "user"
    ]


@pytest.mark.parametrize("path", rollouts(), ids=lambda p: p.name)
def test_every_rollout_renders_to_valid_messages(path: Path) -> None:
    for m in render_conversation(decoded(path)):
        assert m.kind in KINDS
        stored = strip_and_trim(parse_html(m.html))
        assert 0 < len(stored.text) <= 4096
        assert m.plain == parse_html(m.html).text


def test_recorded_failure_and_denial_render() -> None:
    fail = DATA / "codex-0.169" / "rollouts" / "fail.jsonl"
    denied = DATA / "codex-0.169" / "rollouts" / "denied.jsonl"
    if not (fail.exists() and denied.exists()):
        pytest.skip("recorded 0.169 failure/denial rollouts not present")
    errors = [m for m in render_conversation(decoded(fail)) if m.kind == "error"]
    assert [m.plain for m in errors] == [
        "✗ Failed after 0.1 s: stream disconnected before completion: mock: simulated failure"
    ]
    denied_msgs = render_conversation(decoded(denied))
    tool = [m for m in denied_msgs if m.kind == "tool"]
    assert len(tool) == 1 and tool[0].html.endswith(" · aborted")
    assert denied_msgs[-1].kind == "interrupted"


def test_old_rollout_conversation() -> None:
    messages = render_conversation(decoded(DATA / "rollouts" / "codex-old-basic.jsonl"))
    assert [(m.kind, m.plain) for m in messages] == [
        ("user", "\u276f fix the failing test"),
        ("thinking", "Looking at the tests"),
        ("tool", "Ran pytest -q · exit 1 · 2 lines"),
        ("assistant", "The test expects add(2, 2) == 4; fixing add."),
        ("tool", "Edited calc.py +1 \u22121"),
        ("tool", "Ran pytest -q · exit 0 · 2 lines"),
        ("assistant", "Fixed: add now adds.\n\nTests pass."),
        ("turn_done", "✓ Done in 12.4 s · 30.0k tokens"),
        ("user", "\u276f now refactor everything"),
        ("interrupted", "■ Interrupted after 3.2 s"),
    ]
