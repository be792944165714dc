"""``python -m ccbot doctor``: check that this machine and this bot token can run ccbot, and say what to fix.

Output: one line per check, ``✓`` (fine), ``!`` (works, but read this) or ``✗`` (the bot will not work
until this is fixed), each naming what to do after ``→``. Exit status: 2 when the configuration does not
load (the line says why), else 1 when any check is ``✗``, else 0. Every printed line passes through
:func:`ccbot.telegram.redact.redact`, so the bot token (or anything shaped like one) never appears.

What is looked at, and what is never touched:

* configuration (``load_config``), platform (/proc), ``CCBOT_DIR`` and the state file, read-only: a
  corrupt or old state file is reported, never renamed or migrated (the bot does that at start);
* tmux: on PATH, ``tmux -V`` ≥ 3.3, a throw-away server on a private ``-L`` socket (started and killed),
  and whether ccbot's own session is running (read-only ``list-windows``);
* Codex: the configured command's ``--version`` (inside the tested range of ``ccbot.codex.versions``), daemon mode in
  ``CODEX_HOME/config.toml``; ``--version`` runs with ``CODEX_HOME`` pointed at a path that does not exist,
  because Codex writes helper links into an existing ``CODEX_HOME`` on every start;
* ``codex protocol``: the app-server methods and fields ccbot's client uses, checked against the schema the
  installed Codex generates (``ccbot.codex.appserver.schema.schema_drift``);
* ``CODEX_HOME``: sessions folder readable, number of rollouts, and whether the newest one decodes with
  :class:`ccbot.codex.rollout.RolloutDecoder` (read-only);
* Telegram: getMe (token, privacy mode, Threaded Mode), getWebhookInfo, and for each chat bound in the
  state file getChat and getChatMember. A method the server does not implement (404) is reported as
  "not checked". getUpdates is never called: it would cut off a running bot's long poll.

Structure, one module per subject: :mod:`~ccbot.doctor.config` (configuration, platform, ``CCBOT_DIR``),
:mod:`~ccbot.doctor.state`, :mod:`~ccbot.doctor.tmux`, :mod:`~ccbot.doctor.codex` (Codex and ``CODEX_HOME``) and
:mod:`~ccbot.doctor.telegram`. In each, the ``*Facts`` dataclasses hold what was observed and the ``*_checks``
functions turn facts into :class:`Check` values; they are pure (unit-tested). :mod:`~ccbot.doctor.result` holds
:class:`Check`, :class:`Level`, :func:`render` and :func:`exit_code`; :mod:`~ccbot.doctor.gather` does the I/O (the
``gather_*`` functions); :mod:`~ccbot.doctor.cli` runs it all (:func:`main`, :func:`run_doctor`). Every public name
is importable from ``ccbot.doctor`` itself.
"""

from ccbot.doctor.cli import TELEGRAM_TIMEOUT, main, run_doctor
from ccbot.doctor.codex import (
    CODEX_INSTALL,
    MAX_ROLLOUT_SCAN,
    CodexFacts,
    CodexHomeFacts,
    ProtocolFacts,
    RolloutScan,
    codex_checks,
    codex_home_checks,
    protocol_check,
    scan_rollout,
)
from ccbot.doctor.config import ccbot_dir_check, config_check, platform_check
from ccbot.doctor.gather import (
    SUBPROCESS_TIMEOUT,
    gather_codex,
    gather_codex_home,
    gather_protocol,
    gather_state,
    gather_telegram,
    gather_tmux,
)
from ccbot.doctor.result import Check, Level, exit_code, render
from ccbot.doctor.state import StateFacts, StateSummary, state_checks, summarize_state
from ccbot.doctor.telegram import ApiFailure, ChatFacts, TelegramFacts, chat_check, failure_of, telegram_checks
from ccbot.doctor.tmux import MIN_TMUX, TmuxFacts, parse_tmux_version, tmux_checks

__all__ = [
    "CODEX_INSTALL",
    "MAX_ROLLOUT_SCAN",
    "MIN_TMUX",
    "SUBPROCESS_TIMEOUT",
    "TELEGRAM_TIMEOUT",
    "ApiFailure",
    "ChatFacts",
    "Check",
    "CodexFacts",
    "CodexHomeFacts",
    "Level",
    "ProtocolFacts",
    "RolloutScan",
    "StateFacts",
    "StateSummary",
    "TelegramFacts",
    "TmuxFacts",
    "ccbot_dir_check",
    "chat_check",
    "codex_checks",
    "codex_home_checks",
    "config_check",
    "exit_code",
    "failure_of",
    "gather_codex",
    "gather_codex_home",
    "gather_protocol",
    "gather_state",
    "gather_telegram",
    "gather_tmux",
    "main",
    "parse_tmux_version",
    "platform_check",
    "protocol_check",
    "render",
    "run_doctor",
    "scan_rollout",
    "state_checks",
    "summarize_state",
    "telegram_checks",
    "tmux_checks",
]
