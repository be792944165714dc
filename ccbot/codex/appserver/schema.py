"""What ccbot uses of Codex's app-server protocol, and a drift check against a generated schema (pure).

``codex app-server generate-json-schema --out DIR`` writes ``codex_app_server_protocol.schemas.json``: one
JSON Schema whose ``definitions`` hold the four message unions (``ClientRequest``, ``ClientNotification``,
``ServerNotification``, ``ServerRequest``: ``oneOf`` alternatives with a one-value ``method`` enum and a
``params`` ``$ref``), the v1 payload types, and ``definitions.v2`` with the v2 payload types.

Contracts:

* :data:`USED_METHODS` maps each method ccbot sends or reads to (its union, its params definition).
* :data:`USED_FIELDS` maps each definition ccbot reads (``"v2/Thread"``; ``"v2/ThreadItem:agentMessage"``
  for the ``oneOf`` alternative whose ``type`` is that value) to the fields read, with the JSON type
  expected (None: not checked, e.g. a ``$ref``).
* :data:`USED_ENUMS` lists enum values ccbot relies on, per definition.
* :func:`schema_drift` returns one human-readable line per difference (empty list: no drift); it never
  raises on any JSON value.
* :func:`trim_schema` keeps only what :func:`schema_drift` looks at (for test fixtures); the drift of the
  trimmed schema equals the drift of the full one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNIONS = ("ClientRequest", "ClientNotification", "ServerNotification", "ServerRequest")

USED_METHODS: Mapping[str, tuple[str, str | None]] = {
    "initialize": ("ClientRequest", "InitializeParams"),
    "initialized": ("ClientNotification", None),
    "thread/loaded/list": ("ClientRequest", "v2/ThreadLoadedListParams"),
    "thread/resume": ("ClientRequest", "v2/ThreadResumeParams"),
    "turn/interrupt": ("ClientRequest", "v2/TurnInterruptParams"),
    "thread/started": ("ServerNotification", "v2/ThreadStartedNotification"),
    "thread/status/changed": ("ServerNotification", "v2/ThreadStatusChangedNotification"),
    "turn/started": ("ServerNotification", "v2/TurnStartedNotification"),
    "turn/completed": ("ServerNotification", "v2/TurnCompletedNotification"),
    "item/started": ("ServerNotification", "v2/ItemStartedNotification"),
    "item/completed": ("ServerNotification", "v2/ItemCompletedNotification"),
    "item/agentMessage/delta": ("ServerNotification", "v2/AgentMessageDeltaNotification"),
    "serverRequest/resolved": ("ServerNotification", "v2/ServerRequestResolvedNotification"),
    "item/commandExecution/requestApproval": ("ServerRequest", "CommandExecutionRequestApprovalParams"),
    "item/fileChange/requestApproval": ("ServerRequest", "FileChangeRequestApprovalParams"),
    "item/tool/requestUserInput": ("ServerRequest", "ToolRequestUserInputParams"),
}

USED_FIELDS: Mapping[str, Mapping[str, str | None]] = {
    "InitializeParams": {"clientInfo": None},
    "ClientInfo": {"name": "string", "version": "string"},
    "InitializeResponse": {"userAgent": "string", "codexHome": None, "platformFamily": "string",
                           "platformOs": "string"},
    "v2/ThreadLoadedListParams": {"cursor": "string"},
    "v2/ThreadLoadedListResponse": {"data": "array", "nextCursor": "string"},
    "v2/ThreadResumeParams": {"threadId": "string", "excludeTurns": "boolean"},
    "v2/TurnInterruptParams": {"threadId": "string", "turnId": "string"},
    "v2/Thread": {"id": "string", "cwd": None, "path": "string", "threadSource": None, "status": None,
                  "name": "string", "preview": "string"},
    "v2/ThreadStatus:active": {"type": "string", "activeFlags": "array"},
    "v2/ThreadStartedNotification": {"thread": None},
    "v2/ThreadStatusChangedNotification": {"threadId": "string", "status": None},
    "v2/Turn": {"id": "string", "status": None, "error": None},
    "v2/TurnError": {"message": "string"},
    "v2/TurnStartedNotification": {"threadId": "string", "turn": None},
    "v2/TurnCompletedNotification": {"threadId": "string", "turn": None},
    "v2/ItemStartedNotification": {"threadId": "string", "turnId": "string", "item": None},
    "v2/ItemCompletedNotification": {"threadId": "string", "turnId": "string", "item": None},
    "v2/ThreadItem:userMessage": {"id": "string", "content": "array"},
    "v2/UserInput:text": {"text": "string"},
    "v2/ThreadItem:agentMessage": {"id": "string", "text": "string", "phase": None},
    "v2/ThreadItem:commandExecution": {"id": "string", "command": "string", "cwd": None, "status": None,
                                       "exitCode": "integer", "aggregatedOutput": "string"},
    "v2/AgentMessageDeltaNotification": {"threadId": "string", "turnId": "string", "itemId": "string",
                                         "delta": "string"},
    "v2/ServerRequestResolvedNotification": {"threadId": "string", "requestId": None},
    "CommandExecutionRequestApprovalParams": {"threadId": "string", "turnId": "string", "itemId": "string",
                                              "command": "string", "cwd": None, "reason": "string",
                                              "proposedExecpolicyAmendment": "array", "commandActions": "array"},
    "v2/CommandAction:read": {"command": "string"},
    "v2/CommandAction:listFiles": {"command": "string"},
    "v2/CommandAction:search": {"command": "string"},
    "v2/CommandAction:unknown": {"command": "string"},
    "CommandExecutionRequestApprovalResponse": {"decision": None},
    "FileChangeRequestApprovalParams": {"threadId": "string", "turnId": "string", "itemId": "string",
                                        "reason": "string", "grantRoot": "string"},
    "FileChangeRequestApprovalResponse": {"decision": None},
    "v2/ThreadItem:fileChange": {"id": "string", "status": None, "changes": "array"},
    "v2/FileUpdateChange": {"path": "string", "kind": None, "diff": "string"},
    "v2/PatchChangeKind:update": {"type": "string", "move_path": "string"},
    "ToolRequestUserInputParams": {"threadId": "string", "turnId": "string", "itemId": "string",
                                   "questions": "array", "isBlocking": "boolean"},
    "ToolRequestUserInputQuestion": {"id": "string", "header": "string", "question": "string",
                                     "options": "array", "isOther": "boolean", "isSecret": "boolean"},
    "ToolRequestUserInputOption": {"label": "string", "description": "string"},
    "ToolRequestUserInputResponse": {"answers": "object"},
    "ToolRequestUserInputAnswer": {"answers": "array"},
}

USED_ENUMS: Mapping[str, tuple[str, ...]] = {
    "CommandExecutionApprovalDecision": ("accept", "acceptForSession", "decline", "cancel",
                                         "acceptWithExecpolicyAmendment"),
    "v2/TurnStatus": ("completed", "interrupted", "failed", "inProgress"),
    "v2/ThreadActiveFlag": ("waitingOnApproval",),
    "v2/ThreadStatus": ("idle", "active"),
    "v2/CommandExecutionStatus": ("inProgress", "completed", "failed", "declined"),
    "FileChangeApprovalDecision": ("accept", "acceptForSession", "decline", "cancel"),
    "v2/PatchChangeKind": ("add", "delete", "update"),
}


def _definition(schema: object, path: str) -> object:
    """The definition at ``path`` ("Name" or "v2/Name"), or None."""
    node: object = schema.get("definitions") if isinstance(schema, dict) else None
    for part in path.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _alternatives(definition: object) -> list[Mapping[str, Any]]:
    if not isinstance(definition, dict):
        return []
    options = definition.get("oneOf", definition.get("anyOf"))
    return [option for option in options if isinstance(option, dict)] if isinstance(options, list) else []


def _tag(option: Mapping[str, Any], key: str) -> str | None:
    """The single enum value of ``option.properties[key]``, or None."""
    props = option.get("properties")
    prop = props.get(key) if isinstance(props, dict) else None
    values = prop.get("enum") if isinstance(prop, dict) else None
    return values[0] if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str) else None


def _ref_path(node: object) -> str | None:
    ref = node.get("$ref") if isinstance(node, dict) else None
    prefix = "#/definitions/"
    return ref[len(prefix):] if isinstance(ref, str) and ref.startswith(prefix) else None


def _methods(schema: object, union: str) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for option in _alternatives(_definition(schema, union)):
        method = _tag(option, "method")
        if method is not None:
            found[method] = option
    return found


def _resolve(schema: object, name: str) -> object:
    """The definition named by a USED_FIELDS key (with ``:variant`` picking a oneOf alternative)."""
    path, _, variant = name.partition(":")
    definition = _definition(schema, path)
    if not variant:
        return definition
    return next((o for o in _alternatives(definition) if _tag(o, "type") == variant), None)


def _types(prop: Mapping[str, Any]) -> set[str] | None:
    kind = prop.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return None


def _enum_values(definition: object) -> set[str]:
    """Every string an enum-like definition allows: plain enums, oneOf string enums, oneOf object tags
    (``type`` values or the single required key of an externally tagged object)."""
    values: set[str] = set()
    nodes = [definition, *_alternatives(definition)]
    for node in nodes:
        if not isinstance(node, dict):
            continue
        enum = node.get("enum")
        if isinstance(enum, list):
            values.update(v for v in enum if isinstance(v, str))
        tag = _tag(node, "type")
        if tag is not None:
            values.add(tag)
        required = node.get("required")
        externally_tagged = node is not definition and "enum" not in node and tag is None
        if externally_tagged and isinstance(required, list) and len(required) == 1 and isinstance(required[0], str):
            values.add(required[0])
    return values


def schema_drift(schema: object) -> list[str]:
    """What in ``schema`` (a decoded generated schema) differs from what ccbot uses; see the docstring."""
    problems: list[str] = []
    if not isinstance(schema, dict) or not isinstance(schema.get("definitions"), dict):
        return ["not a generated app-server schema (no definitions)"]
    for method, (union, params) in USED_METHODS.items():
        option = _methods(schema, union).get(method)
        if option is None:
            problems.append(f"method {method}: missing from {union}")
            continue
        props = option.get("properties")
        actual = _ref_path(props.get("params")) if isinstance(props, dict) else None
        if actual != params:
            problems.append(f"method {method}: params changed from {params} to {actual}")
    for name, fields in USED_FIELDS.items():
        definition = _resolve(schema, name)
        if not isinstance(definition, dict):
            problems.append(f"definition {name}: missing")
            continue
        props = definition.get("properties")
        props = props if isinstance(props, dict) else {}
        for field_name, expected in fields.items():
            prop = props.get(field_name)
            if not isinstance(prop, dict):
                problems.append(f"field {name}.{field_name}: missing")
                continue
            types = _types(prop)
            if expected is not None and types is not None and expected not in types:
                problems.append(f"field {name}.{field_name}: type changed from {expected} to {sorted(types)}")
    for name, values in USED_ENUMS.items():
        definition = _definition(schema, name)
        if definition is None:
            problems.append(f"definition {name}: missing")
            continue
        allowed = _enum_values(definition)
        problems.extend(f"value {name}={value}: missing" for value in values if value not in allowed)
    return problems


def trim_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Only the unions' used alternatives and the used definitions of ``schema`` (for fixtures)."""
    keep: dict[str, Any] = {}
    methods_by_union: dict[str, set[str]] = {}
    for method, (union, _) in USED_METHODS.items():
        methods_by_union.setdefault(union, set()).add(method)
    for union, methods in methods_by_union.items():
        definition = _definition(schema, union)
        if isinstance(definition, dict):
            options = [o for o in _alternatives(definition) if _tag(o, "method") in methods]
            keep[union] = {**{k: v for k, v in definition.items() if k not in ("oneOf", "anyOf")}, "oneOf": options}
    for name in [*USED_FIELDS, *USED_ENUMS]:
        path = name.partition(":")[0]
        definition = _definition(schema, path)
        if definition is not None:
            keep[path] = definition
    trimmed: dict[str, Any] = {"definitions": {}, "title": schema.get("title"), "trimmed": True}
    for path, definition in sorted(keep.items()):
        parent = trimmed["definitions"]
        *folders, leaf = path.split("/")
        for folder in folders:
            parent = parent.setdefault(folder, {})
        parent[leaf] = definition
    return trimmed
