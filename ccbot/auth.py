"""Who may act: the allowlist decision for every update kind (pure).

``decide(update, allowed)`` looks only at the update's sender. Unknown senders are never acted on; a
refusal message is due only for a *message* in a *private* chat (never in groups, never for callbacks or
edits), and only once per user (the caller remembers who was refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccbot.telegram.types import Update


@dataclass(frozen=True, slots=True)
class Decision:
    """The allowlist's verdict on one update: ``allowed``; where to send the refusal, if one is due; the sender."""

    allowed: bool
    refuse_chat_id: int | None = None  # where to send the one polite refusal, if anywhere
    sender_id: int | None = None


def decide(update: Update, allowed: frozenset[int]) -> Decision:
    """Allow ``update`` only if its sender is in ``allowed``; a refusal chat is set only for a stranger's message in
    a private chat (the caller sends it once per user). Pure.
    """
    sender = update.sender_id
    if sender is not None and sender in allowed:
        return Decision(True, sender_id=sender)
    message = update.message
    if message is not None and message.chat.type == "private" and sender is not None:
        return Decision(False, refuse_chat_id=message.chat.id, sender_id=sender)
    return Decision(False, sender_id=sender)


REFUSAL_TEXT = (
    "Sorry, this bot is private: it only answers its owner's accounts. "
    "If this is your bot, add your user id ({user_id}) to ALLOWED_USERS."
)

HELP_TEXT = (
    "<b>ccbot</b> — drive Codex CLI sessions in tmux from this chat.\n\n"
    "• Each topic is bound to one tmux window running <code>codex</code>. Send any message in a new topic "
    "to pick a folder and start (or resume) a Codex thread.\n"
    "• Text you send is typed into Codex; replies, reasoning and tool runs come back here.\n"
    "• Approvals appear as buttons.\n\n"
    "Commands: /esc interrupt · /screenshot the terminal · /history the conversation · /unbind detach "
    "(keeps the window) · /clear /compact /diff /init /review /status go to Codex."
)
