"""Codex's app-server as a second control plane (issue 13): protocol (pure), transport, JSON-RPC client.

* :mod:`.protocol` classifies decoded JSON-RPC messages and gives typed views of the payloads ccbot uses
  (pure, no trio, no I/O); :mod:`.schema` checks those against a generated protocol schema.
* :mod:`.transport` is a WebSocket client (wsproto) over a trio stream.
* :mod:`.client` is the JSON-RPC client whose reader loop the owning actor runs in its nursery.
"""
