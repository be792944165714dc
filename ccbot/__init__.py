"""ccbot: drive Codex CLI sessions in tmux from Telegram forum topics."""

__version__ = "0.1.0"
