"""Codex's app-server as a second control plane (issue 13): protocol (pure), transport, JSON-RPC client.

* :mod:`.protocol` classifies decoded JSON-RPC messages, encodes ours, and gives the typed views
  (:mod:`.views`) of the payloads ccbot uses; :mod:`.schema` checks what ccbot uses against a generated
  protocol schema. All three are pure: no trio, no I/O.
* :mod:`.transport` is a WebSocket client (wsproto) over a trio stream.
* :mod:`.client` is the JSON-RPC client whose reader loop the owning actor runs in its nursery.
"""
