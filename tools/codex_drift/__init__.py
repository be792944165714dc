"""``python -m tools.codex_drift [VERSION]``: how a Codex release differs from the recorded fixtures, as the
bot's parsers see it. See ``__main__`` for the steps and ``compare`` for what is compared."""
