"""Choose the mock model's reply to one ``POST /v1/responses`` request (pure, no I/O).

The mock is stateless: Codex sends the whole conversation every time (``store: false``), so the reply
is a function of the request body and the ``x-codex-turn-metadata`` header alone.

Contract: :func:`plan_reply` takes the decoded JSON body and the lower-cased request headers and
returns a :class:`ReplyPlan`. It never raises on odd input; anything it cannot make sense of gets a
plain ``MOCK_REPLY`` answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.mock_openai.prose import long_markdown

LONG_PROMPT_LIMIT = 600
DEFAULT_SLOW_SECONDS = 6.0
MAX_SLOW_SECONDS = 600.0
MAX_LONG_CHARS = 200_000
FAIL_MESSAGE = "mock: simulated failure"
INIT_PREFIX = "Generate a file named AGENTS.md"
COMPACTION_PREFIX = "You are performing a CONTEXT CHECKPOINT COMPACTION"
REVIEW_PREFIX = "# Review guidelines:"
INIT_COMMAND = (
    "printf '# Repository Guidelines\\n\\nWritten by the mock model for /init.\\n' > AGENTS.md"
    " && echo wrote AGENTS.md"
)
TOOL_OUTPUT_TAIL_LINES = 10
TITLE_MAX = 36

# Blocks Codex injects as user messages; none of them is something the user typed.
_INJECTED_PREFIXES = ("# AGENTS.md instructions",)
_INJECTED_TAG = re.compile(r"^<[A-Za-z_][A-Za-z0-9_ -]*>")

_SLOW = re.compile(r"\bslow\b(?:\s+(\d+(?:\.\d+)?))?", re.IGNORECASE)
_STEPS = re.compile(r"\bsteps\s+(\d+)\b", re.IGNORECASE)
MAX_STEPS = 100
_LONG = re.compile(r"\blong\s+(\d+)\b", re.IGNORECASE)
_THINK = re.compile(r"\b(think|reason)", re.IGNORECASE)
_ESCALATE = re.compile(r"\b(escalate|sudo)\b", re.IGNORECASE)
_PATCH = re.compile(r"\bpatch\s+(?:`([^`\n]+)`|([^\s`]*[./][^\s`]*))", re.IGNORECASE)
_ASK = re.compile(r"\bask\b(?:\s+([1-3])\b)?", re.IGNORECASE)
_RUN_BACKTICK = re.compile(r"\brun\s+`([^`\n]+)`", re.IGNORECASE)
_RUN_LINE = re.compile(r"(?:^|\band\s+)run\s+(\S.*)$", re.IGNORECASE | re.MULTILINE)
_TRAILING_KEYWORDS = re.compile(r"(?:\s+(?:escalate|sudo))+\s*$", re.IGNORECASE)
_EXIT_CODE = re.compile(r"Process exited with code (-?\d+)")
_CWD = re.compile(r"<cwd>([^<]+)</cwd>")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class TextAnswer:
    """An assistant message with this text."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """An ``exec_command`` function call; ``justification`` is set for escalation requests."""

    cmd: str
    escalate: bool = False

    @property
    def arguments(self) -> str:
        # login=false: a login shell sources the user's profile, which adds machine-specific noise
        # (and, measured here, 5+ s) to every command; tests want the command and nothing else.
        args: dict[str, Any] = {"cmd": self.cmd, "yield_time_ms": 10000, "login": False}
        if self.escalate:
            args["sandbox_permissions"] = "require_escalated"
            args["justification"] = f"Mock model wants to run `{self.cmd}` outside the sandbox"
        return json.dumps(args)


PATCH_LINE = "written by the mock model's apply_patch"


@dataclass(frozen=True)
class PatchCall:
    """A freeform ``apply_patch`` custom tool call that creates (or replaces) file ``path`` with
    :data:`PATCH_LINE` and the prompt's words after ``patch NAME`` (``*** Add File``)."""

    path: str
    lines: tuple[str, ...] = (PATCH_LINE,)

    @property
    def patch(self) -> str:
        """The patch text, in the grammar Codex's ``apply_patch`` tool declares."""
        body = "".join(f"+{line}\n" for line in self.lines)
        return f"*** Begin Patch\n*** Add File: {self.path}\n{body}*** End Patch\n"


ASK_TOOL = "request_user_input"
ASK_OPTIONS = (
    ("Red (Recommended)", "The mock's first choice."),
    ("Green", "A calmer colour."),
    ("Blue", "The colour of the sky."),
)


@dataclass(frozen=True)
class AskCall:
    """A ``request_user_input`` function call with ``count`` questions (ids ``colour``, ``colour_2``, …),
    each with the three :data:`ASK_OPTIONS`, shaped per the tool's parameters as Codex offers them (one to
    three questions of ``id``, ``header``, ``question``, ``options`` of ``label`` + ``description``)."""

    count: int = 1

    @property
    def arguments(self) -> str:
        questions = [
            {
                "id": "colour" if n == 1 else f"colour_{n}",
                "header": "Colour" if n == 1 else f"Colour {n}",
                "question": "Which colour should the mock use?" if n == 1 else f"Which colour for part {n}?",
                "options": [{"label": label, "description": text} for label, text in ASK_OPTIONS],
            }
            for n in range(1, self.count + 1)
        ]
        return json.dumps({"questions": questions})


@dataclass(frozen=True)
class Failure:
    """A ``response.failed`` event after ``response.created``."""

    message: str


@dataclass(frozen=True)
class HttpError:
    """A plain HTTP error response instead of a stream."""

    status: int
    message: str


Action = TextAnswer | ToolCall | PatchCall | AskCall | Failure | HttpError


@dataclass(frozen=True)
class ReplyPlan:
    """What to send back.

    ``kind`` names the request: ``turn``, ``tool_done``, ``title``, ``compaction``, ``review``,
    ``init``, ``json_schema``. ``reasoning`` (a summary text) is streamed before the action;
    ``slow_seconds`` > 0 spreads the answer over that many seconds.
    """

    kind: str
    prompt: str | None
    action: Action
    reasoning: str | None = None
    slow_seconds: float = 0.0


def turn_metadata(headers: Mapping[str, str]) -> dict[str, Any]:
    """Decode the ``x-codex-turn-metadata`` header; ``{}`` when absent or not a JSON object."""
    raw = headers.get("x-codex-turn-metadata")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def message_texts(item: Mapping[str, Any]) -> list[str]:
    """The text parts of a ``message`` input item (``input_text`` / ``output_text`` / ``text``)."""
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    texts = []
    for part in content:
        if isinstance(part, Mapping) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return texts


def is_injected(text: str) -> bool:
    """True for context blocks Codex adds itself (``<environment_context>``, AGENTS.md, …)."""
    stripped = text.lstrip()
    if stripped.startswith(_INJECTED_PREFIXES):
        return True
    return bool(_INJECTED_TAG.match(stripped)) and stripped.rstrip().endswith(">")


def _is_message(item: Any, role: str) -> bool:
    return isinstance(item, Mapping) and item.get("type", "message") == "message" and item.get("role") == role


def last_user_prompt(items: Sequence[Any]) -> tuple[int, str | None]:
    """Index and text of the last genuine user message in ``input`` (``(-1, None)`` if none)."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if not _is_message(item, "user"):
            continue
        genuine = [text for text in message_texts(item) if not is_injected(text)]
        if genuine:
            return index, "\n".join(genuine)
    return -1, None


_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")  # exec_command's, apply_patch's


def find_patch(prompt: str) -> PatchCall | None:
    """The file a prompt asks the model to write with ``apply_patch``, or None.

    ``patch NAME`` (a word with a ``.`` or ``/``, so prose such as "a patch here" is no file) or
    ``patch `NAME` `` (a path, relative to the session's folder or absolute); the rest of
    that line, minus trailing ``escalate`` / ``sudo`` keywords, becomes a second line of the file.
    """
    match = _PATCH.search(prompt)
    if not match:
        return None
    path = (match.group(1) or match.group(2) or "").strip()
    if not path:
        return None
    rest = _TRAILING_KEYWORDS.sub("", prompt[match.end():].split("\n", 1)[0]).strip()
    return PatchCall(path, (PATCH_LINE, rest) if rest else (PATCH_LINE,))


def _last_tool_output(items: Sequence[Any], after: int) -> str | None:
    found: str | None = None
    for item in items[after + 1 :]:
        if isinstance(item, Mapping) and item.get("type") in _TOOL_OUTPUTS:
            output = item.get("output")
            if isinstance(output, str):
                found = output
            elif isinstance(output, Mapping) and isinstance(output.get("content"), str):
                found = output["content"]
            else:
                found = json.dumps(output)
    return found


def _tool_outputs(items: Sequence[Any], after: int) -> int:
    return sum(1 for item in items[after + 1 :]
               if isinstance(item, Mapping) and item.get("type") in _TOOL_OUTPUTS) if after >= 0 else 0


def find_ask(prompt: str) -> AskCall | None:
    """``ask`` (one question) or ``ask N`` (N = 1..3 questions) anywhere in the prompt, or None."""
    match = _ASK.search(prompt)
    if not match:
        return None
    return AskCall(int(match.group(1)) if match.group(1) else 1)


ASKED_PREFIX = "MOCK_ASKED: the user answered: "


def tool_done_text(output: str) -> str:
    """``MOCK_TOOL_DONE`` answer quoting the exit code and the last lines of a tool output."""
    match = _EXIT_CODE.search(output)
    code = match.group(1) if match else "unknown"
    marker = "\nOutput:\n"
    body = output.split(marker, 1)[1] if marker in output else output
    lines = [line for line in body.rstrip("\n").split("\n")] if body.strip() else []
    tail = "\n".join(lines[-TOOL_OUTPUT_TAIL_LINES:]) if lines else "(no output)"
    return f"MOCK_TOOL_DONE: the command finished (exit code {code}). Last output lines:\n\n```\n{tail}\n```"


def find_command(prompt: str) -> str | None:
    """The shell command a prompt asks to run, or None.

    ``run `cmd` `` anywhere wins; otherwise ``run <cmd>`` at the start of a line or after ``and``,
    up to the end of that line, minus trailing ``escalate`` / ``sudo`` keywords.
    """
    quoted = _RUN_BACKTICK.search(prompt)
    if quoted:
        return quoted.group(1).strip() or None
    line = _RUN_LINE.search(prompt)
    if not line:
        return None
    cmd = _TRAILING_KEYWORDS.sub("", line.group(1)).strip()
    return cmd or None


def _slow_seconds(prompt: str) -> float:
    match = _SLOW.search(prompt)
    if not match:
        return 0.0
    seconds = float(match.group(1)) if match.group(1) else DEFAULT_SLOW_SECONDS
    return min(seconds, MAX_SLOW_SECONDS)


def title_for(prompt: str) -> str:
    """``Mock <first four words>`` of the user prompt quoted in a title request, at most 36 characters."""
    marker = "User prompt:\n"
    text = prompt.rsplit(marker, 1)[1] if marker in prompt else prompt
    words = _WORD.findall(text)[:4]
    title = " ".join(["Mock", *words]) if words else "Mock thread"
    # Codex's title schema caps the length at 36 characters.
    return title[:TITLE_MAX].rstrip()


def minimal_value(schema: Any, depth: int = 0) -> Any:
    """The smallest JSON value that satisfies a (simple) JSON schema."""
    if not isinstance(schema, Mapping) or depth > 20:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return minimal_value(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object" or "properties" in schema:
        raw_props = schema.get("properties")
        props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
        raw_required = schema.get("required")
        required: list[Any] = raw_required if isinstance(raw_required, list) else list(props)
        return {name: minimal_value(props.get(name), depth + 1) for name in required if isinstance(name, str)}
    defaults: dict[str, Any] = {"string": "mock", "integer": 0, "number": 0, "boolean": False, "array": []}
    return defaults.get(kind) if isinstance(kind, str) else None


def _json_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    text = body.get("text")
    if not isinstance(text, Mapping):
        return None
    fmt = text.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, Mapping) else {}
    return None


def _first_developer_text(items: Sequence[Any]) -> str:
    for item in items:
        if _is_message(item, "developer") or _is_message(item, "system"):
            texts = message_texts(item)
            if texts:
                return texts[0]
    return ""


def _workdir(items: Sequence[Any], meta: Mapping[str, Any]) -> str:
    workspaces = meta.get("workspaces")
    if isinstance(workspaces, Mapping) and workspaces:
        return str(next(iter(workspaces)))
    for item in items:
        if _is_message(item, "user"):
            for text in message_texts(item):
                match = _CWD.search(text)
                if match:
                    return match.group(1).strip()
    return "."


def review_json(workdir: str) -> str:
    """The review sub-agent's answer: one P3 finding against ``<workdir>/README.md``."""
    finding = {
        "title": "[P3] Mock finding: double-check this change",
        "body": "The mock reviewer always reports one low-priority finding so the TUI review rendering "
        "can be tested.",
        "confidence_score": 0.5,
        "priority": 3,
        "code_location": {
            "absolute_file_path": f"{workdir.rstrip('/')}/README.md",
            "line_range": {"start": 1, "end": 1},
        },
    }
    return json.dumps(
        {
            "findings": [finding],
            "overall_correctness": "patch is correct",
            "overall_explanation": "Mock review: nothing blocking found.",
            "overall_confidence_score": 0.5,
        }
    )


def plan_reply(body: Mapping[str, Any], headers: Mapping[str, str]) -> ReplyPlan:
    """Pick the reply for one request; see the module docstring and codex-cli.md §1."""
    raw_items = body.get("input")
    items: Sequence[Any] = raw_items if isinstance(raw_items, list) else []
    meta = turn_metadata(headers)
    index, prompt = last_user_prompt(items)
    schema = _json_schema(body)

    if meta.get("thread_source") == "thread_title" or (
        schema is not None
        and isinstance(schema.get("properties"), Mapping)
        and "title" in schema["properties"]
    ):
        title = title_for(prompt or "")
        return ReplyPlan("title", prompt, TextAnswer(json.dumps({"title": title})))
    if meta.get("request_kind") == "compaction" or (prompt or "").startswith(COMPACTION_PREFIX):
        _, earlier = last_user_prompt(items[:index] if index > 0 else [])
        summary = f"Mock compaction summary: the last user request was: {earlier or '(none)'}"
        return ReplyPlan("compaction", prompt, TextAnswer(summary))
    if meta.get("subagent_kind") == "review" or _first_developer_text(items).startswith(REVIEW_PREFIX):
        return ReplyPlan("review", prompt, TextAnswer(review_json(_workdir(items, meta))))
    if schema is not None:
        return ReplyPlan("json_schema", prompt, TextAnswer(json.dumps(minimal_value(schema))))

    text = prompt or ""
    tool_output = _last_tool_output(items, index) if index >= 0 else None
    if text.startswith(INIT_PREFIX):
        if tool_output is not None:
            return ReplyPlan("init", prompt, TextAnswer(tool_done_text(tool_output)))
        return ReplyPlan("init", prompt, ToolCall(INIT_COMMAND))
    if len(text) > LONG_PROMPT_LIMIT:
        return ReplyPlan("turn", prompt, TextAnswer(f"MOCK_REPLY: received a {len(text)}-character prompt."))
    if "mock:http500" in text:
        return ReplyPlan("turn", prompt, HttpError(500, "mock: simulated internal server error"))
    if "mock:fail" in text:
        return ReplyPlan("turn", prompt, Failure(FAIL_MESSAGE))

    slow = _slow_seconds(text)
    steps = _STEPS.search(text)
    cmd = find_command(text)
    if cmd is not None and steps and _tool_outputs(items, index) < min(int(steps.group(1)), MAX_STEPS):
        return ReplyPlan("turn", prompt, ToolCall(cmd))  # "steps N": the same command N times in one turn
    if tool_output is not None:
        # request_user_input's output (the answers, or the error Codex returns) is quoted back as it is
        if cmd is None and find_patch(text) is None and find_ask(text) is not None:
            return ReplyPlan("tool_done", prompt, TextAnswer(ASKED_PREFIX + tool_output), slow_seconds=slow)
        return ReplyPlan("tool_done", prompt, TextAnswer(tool_done_text(tool_output)), slow_seconds=slow)

    reasoning = None
    if _THINK.search(text):
        reasoning = f"**Planning the mock answer**\n\nThe mock model is pretending to think about: {text}"
    action: Action
    patch = find_patch(text) if cmd is None else None
    if patch is not None:
        return ReplyPlan("turn", prompt, patch, reasoning=reasoning)
    ask = find_ask(text) if cmd is None else None
    if ask is not None:
        return ReplyPlan("turn", prompt, ask, reasoning=reasoning)
    if cmd is not None:
        action = ToolCall(cmd, escalate=bool(_ESCALATE.search(text)))
        return ReplyPlan("turn", prompt, action, reasoning=reasoning)
    long_match = _LONG.search(text)
    if long_match:
        action = TextAnswer(long_markdown(min(int(long_match.group(1)), MAX_LONG_CHARS)))
    else:
        action = TextAnswer(f"MOCK_REPLY: you said: {text}")
    return ReplyPlan("turn", prompt, action, reasoning=reasoning, slow_seconds=slow)
