"""ccbot.codex.appserver.schema: the drift check against the schemas Codex 0.169 and 0.171 generate.

The fixtures ``tests/data/appserver-<minor>/schema.json`` are trimmed extracts of
``codex app-server generate-json-schema`` (see that folder's README.md).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ccbot.codex.appserver import protocol
from ccbot.codex.appserver.schema import USED_FIELDS, USED_METHODS, schema_drift, trim_schema
from tests.conftest import DATA

VERSIONS = ["appserver-0.169", "appserver-0.171"]


def load(folder: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DATA / folder / "schema.json").read_text("utf-8"))
    return schema


@pytest.mark.parametrize("folder", VERSIONS)
def test_no_drift_in_tested_releases(folder: str) -> None:
    assert schema_drift(load(folder)) == []


@pytest.mark.parametrize("folder", VERSIONS)
def test_trimming_is_idempotent(folder: str) -> None:
    schema = load(folder)
    assert trim_schema(schema) == schema


def test_removed_method_is_reported() -> None:
    schema = copy.deepcopy(load("appserver-0.171"))
    union = schema["definitions"]["ServerNotification"]
    union["oneOf"] = [o for o in union["oneOf"] if o["properties"]["method"]["enum"] != ["item/agentMessage/delta"]]
    assert schema_drift(schema) == ["method item/agentMessage/delta: missing from ServerNotification"]


def test_changed_fields_and_enums_are_reported() -> None:
    schema = copy.deepcopy(load("appserver-0.169"))
    v2 = schema["definitions"]["v2"]
    del v2["AgentMessageDeltaNotification"]["properties"]["delta"]
    v2["TurnInterruptParams"]["properties"]["turnId"]["type"] = "integer"
    v2["TurnStatus"]["enum"].remove("interrupted")
    agent = next(o for o in v2["ThreadItem"]["oneOf"] if o["properties"]["type"]["enum"] == ["agentMessage"])
    agent["properties"]["type"]["enum"] = ["assistantMessage"]
    request = next(
        o for o in schema["definitions"]["ClientRequest"]["oneOf"]
        if o["properties"]["method"]["enum"] == ["thread/resume"]
    )
    request["properties"]["params"] = {"$ref": "#/definitions/v2/ThreadResumeParamsV3"}
    del schema["definitions"]["CommandExecutionRequestApprovalResponse"]
    assert schema_drift(schema) == [
        "method thread/resume: params changed from v2/ThreadResumeParams to v2/ThreadResumeParamsV3",
        "field v2/TurnInterruptParams.turnId: type changed from string to ['integer']",
        "definition v2/ThreadItem:agentMessage: missing",
        "field v2/AgentMessageDeltaNotification.delta: missing",
        "definition CommandExecutionRequestApprovalResponse: missing",
        "value v2/TurnStatus=interrupted: missing",
    ]


@pytest.mark.parametrize("raw", [None, [], {}, {"definitions": []}, {"definitions": {"ClientRequest": 5}}, "x"])
def test_drift_never_raises(raw: object) -> None:
    problems = schema_drift(raw)
    assert problems and all(isinstance(p, str) for p in problems)


def test_the_table_names_what_the_protocol_module_reads() -> None:
    used = set(USED_METHODS)
    assert used.issuperset(protocol.NOTIFICATION_METHODS)
    assert used.issuperset(protocol.SERVER_REQUEST_METHODS)
    assert {protocol.INITIALIZE, protocol.INITIALIZED, protocol.THREAD_LOADED_LIST, protocol.THREAD_RESUME,
            protocol.TURN_INTERRUPT} <= used
    for method, (_, params) in USED_METHODS.items():
        assert params is None or params in USED_FIELDS, method
