"""Mock OpenAI API for offline Codex runs and transcription tests (see codex-cli.md §1).

Run it in-process with :func:`serve_mock_openai` or as ``python -m tools.mock_openai --port 0``.
"""

from __future__ import annotations

from tools.mock_openai.server import MockOpenAI, RequestLog, serve_mock_openai

__all__ = ["MockOpenAI", "RequestLog", "serve_mock_openai"]
