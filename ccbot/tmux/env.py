"""The environment tmux subprocesses (and therefore every Codex window) inherit.

Pure: takes a mapping, returns a new dict. The tmux server copies the environment of the client that
starts it into its global environment, and every window inherits that, so whatever the bot process
holds (its Telegram token, the allowed-user list, API keys) must be removed before a tmux client is
spawned. ``TMUX``/``TMUX_PANE`` are removed too: with them set, a tmux client run from inside another
tmux would default its targets to the caller's session instead of ccbot's dedicated server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Variables removed by name. Their values are also treated as secret content (see below) when they
# are long enough, except ALLOWED_USERS, whose value (numeric ids) is private but not a credential.
SECRET_NAMES: frozenset[str] = frozenset({"TELEGRAM_BOT_TOKEN", "ALLOWED_USERS", "OPENAI_API_KEY"})
# The bot's own configuration namespace: none of it is needed by tmux or Codex.
SECRET_PREFIXES: tuple[str, ...] = ("CCBOT_",)
# Parts of a CCBOT_* name that mark its value as a credential to hunt for in other variables.
_CREDENTIAL_MARKERS: tuple[str, ...] = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD")
# TMUX/TMUX_PANE would target the caller's server; the systemd service variables point at the bot's
# credentials and journal stream, which windows have no business with.
TMUX_CLIENT_NAMES: frozenset[str] = frozenset(
    {"TMUX", "TMUX_PANE", "CREDENTIALS_DIRECTORY", "JOURNAL_STREAM", "NOTIFY_SOCKET", "INVOCATION_ID"}
)

# Shorter "secrets" are ignored for the value-containment test: a value such as "1" would otherwise
# remove every variable containing the digit 1.
MIN_SECRET_LEN = 8


def is_removed_name(name: str) -> bool:
    """True if the variable ``name`` is dropped whatever its value."""
    return name in SECRET_NAMES or name in TMUX_CLIENT_NAMES or name.startswith(SECRET_PREFIXES)


def _is_credential_name(name: str) -> bool:
    if name in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"):
        return True
    return name.startswith(SECRET_PREFIXES) and any(m in name for m in _CREDENTIAL_MARKERS)


def secret_values(environ: Mapping[str, str], secrets: Iterable[str] = ()) -> frozenset[str]:
    """The secret strings to hunt for: ``secrets`` plus the values of credential variables in ``environ``.

    Strings shorter than ``MIN_SECRET_LEN`` are left out (see the module note).
    """
    found = {s for s in secrets if len(s) >= MIN_SECRET_LEN}
    found.update(v for k, v in environ.items() if _is_credential_name(k) and len(v) >= MIN_SECRET_LEN)
    return frozenset(found)


def scrubbed_environ(environ: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Return a copy of ``environ`` that is safe to hand to tmux.

    Removed: ``TELEGRAM_BOT_TOKEN``, ``ALLOWED_USERS``, ``OPENAI_API_KEY``, every ``CCBOT_*`` variable,
    ``TMUX`` and ``TMUX_PANE``, and any variable whose value contains one of the secret strings (the
    explicit ``secrets`` plus the values of the credential variables above, each at least
    ``MIN_SECRET_LEN`` characters). Never raises; the input is not modified.
    """
    hunted = secret_values(environ, secrets)
    return {
        name: value
        for name, value in environ.items()
        if not is_removed_name(name) and not any(s in value for s in hunted)
    }


def scrub_window_env(env: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Filter the variables a caller wants set in a new window (``new-window -e``).

    Same rules as ``scrubbed_environ``; additionally names that tmux cannot take (empty, containing
    ``=``) are dropped because ``-e NAME=VALUE`` would split them wrongly.
    """
    cleaned = scrubbed_environ(env, secrets)
    return {k: v for k, v in cleaned.items() if k and "=" not in k}
