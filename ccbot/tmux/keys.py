"""What may be typed into a pane, and how text is cut and quoted for the tmux command line.

Pure. Four concerns:

* the allowlist of named keys the bot may send (``ALLOWED_KEYS``) and the friendly spellings users
  type in Telegram (``resolve_key``);
* ``split_for_send``: a tmux client sends its whole command to the server in one message; tmux 3.3a
  refuses commands above about 16,300 bytes ("command too long", measured), so text is sent in
  chunks of at most ``MAX_CHUNK_BYTES`` UTF-8 bytes, cut only between code points;
* ``escape_argument``: tmux treats a command-line argument *ending* in ``;`` as a command separator
  (the ``;`` is removed), and turns a trailing ``\\;`` into a literal ``;``. Measured on 3.3a:
  ``send-keys -l 'a;'`` types ``a``; ``'b\\;'`` types ``b;``; ``'c\\\\;'`` types ``c\\;``.
* ``escape_format``: some arguments are expanded as tmux formats (``#(cmd)`` runs ``cmd``!); see there.
"""

from __future__ import annotations

import re

# Named keys the bot may press. Digits and y/p/n answer Codex menus and approval prompts; r/f answer
# "This conversation is open in another app" (retry, fork).
ALLOWED_KEYS: frozenset[str] = frozenset(
    {"Enter", "Escape", "Tab", "Space", "Up", "Down", "Left", "Right", "C-c", "BSpace", "y", "p", "n", "r", "f"}
    | {str(d) for d in range(10)}
)

# Friendly spelling (compared lower-cased) -> tmux key name.
_ALIASES: dict[str, str] = {
    "enter": "Enter",
    "return": "Enter",
    "ret": "Enter",
    "⏎": "Enter",
    "↵": "Enter",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "⇥": "Tab",
    "space": "Space",
    "spc": "Space",
    "␣": "Space",
    "up": "Up",
    "↑": "Up",
    "down": "Down",
    "↓": "Down",
    "left": "Left",
    "←": "Left",
    "right": "Right",
    "→": "Right",
    "c-c": "C-c",
    "ctrl-c": "C-c",
    "ctrl+c": "C-c",
    "^c": "C-c",
    "bspace": "BSpace",
    "backspace": "BSpace",
    "bs": "BSpace",
    "⌫": "BSpace",
}

MAX_CHUNK_BYTES = 4096


class UnknownKeyError(ValueError):
    """A key name that is neither allowlisted nor a known friendly spelling."""


def resolve_key(name: str) -> str:
    """Map an allowlisted tmux key name or a friendly spelling to the tmux key name.

    Exact tmux names (``"Enter"``, ``"C-c"``, ``"y"``, ``"7"``) map to themselves; friendly
    spellings (``"esc"``, ``"ctrl-c"``, ``"↑"``, any case, surrounding blanks ignored) map through
    the alias table. Single letters are case-sensitive: ``"Y"`` is not ``"y"``.
    Raises ``UnknownKeyError`` for anything else.
    """
    if name in ALLOWED_KEYS:
        return name
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise UnknownKeyError(f"key not allowed: {name!r}")
    return key


def split_for_send(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> list[str]:
    """Cut ``text`` into non-empty pieces whose UTF-8 encodings are each at most ``max_bytes``.

    NUL characters are removed (a command-line argument cannot hold them); otherwise
    ``"".join(result) == text``. Pieces end on code-point boundaries, and ``max_bytes`` is the size
    after ``escape_argument`` (a piece ending in ``;`` grows by one byte). Empty text gives ``[]``.
    Raises ``UnicodeEncodeError`` (a ``ValueError``) for lone surrogates and ``ValueError`` if
    ``max_bytes < 5`` (one code point plus the escape must fit).
    """
    if max_bytes < 5:
        raise ValueError("max_bytes must be at least 5")
    text = text.replace("\x00", "")
    text.encode("utf-8")  # fail early, with the real position, on unencodable text
    pieces: list[str] = []
    start = 0
    size = 0
    for i, ch in enumerate(text):
        width = len(ch.encode("utf-8"))
        # Reserve one byte for the escape a trailing ';' needs.
        extra = 1 if ch == ";" else 0
        if size + width + extra > max_bytes:
            pieces.append(text[start:i])
            start = i
            size = 0
        size += width
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def escape_argument(arg: str) -> str:
    """Quote one tmux command-line argument so tmux passes it through unchanged.

    Only a trailing ``;`` is special (see the module note): it gets a backslash before it.
    """
    if arg.endswith(";"):
        return arg[:-1] + "\\;"
    return arg


# A run of '#' that is not followed by another '#' or by '['.
_FORMAT_HASHES = re.compile(r"#+(?![#\[])")


def escape_format(text: str) -> str:
    """Quote ``text`` for an argument that tmux expands as a format, so that it arrives literally.

    Measured on tmux 3.3a: ``new-window -c`` and ``-n``, ``rename-window`` and ``new-session -s``
    expand formats (``-n '#{pane_id}'`` names the window ``%0``; ``-c 'DIR/#(touch M)'`` makes the
    server run ``touch M`` and start the pane in ``DIR``). ``new-window -e`` values, the command
    after ``new-window``, ``set-option`` values (without ``-F``), ``-t`` targets, ``send-keys -l``
    and ``load-buffer`` input are not expanded.

    In tmux's expander (``format_expand1`` in 3.3a's format.c) only ``#`` starts anything
    (``#{…}``, ``#(…)``, ``#W``, …), ``##`` stands for one ``#``, and a run of ``#`` directly
    followed by ``[`` is copied unchanged (it is a style, left for drawing). So every run of ``#``
    is doubled except one followed by ``[``, which must stay as it is (doubled, ``#[`` would come
    out as ``##[``, measured). No strftime pass applies to these arguments (``%Y`` stays). The
    result still goes through ``escape_argument`` like every argument.
    """
    return _FORMAT_HASHES.sub(lambda m: m.group() * 2, text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_user_text(text: str) -> str:
    """The text as it may be typed into a pane: line ends normalised to LF, and every other control
    character (ESC, BEL, C1 controls, Ctrl-C's byte, …) removed — typed, they would act as keys or
    terminal sequences the user never meant. Tabs and newlines stay (they go in as a bracketed paste).
    """
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
