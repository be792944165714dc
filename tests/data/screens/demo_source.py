"""What produced ``demo*.txt`` beside this file: colours, attributes, box drawing, CJK and emoji.

Recorded with tmux 3.3a (private ``-L`` server, 100x20 pane):

    tmux -L ccbot-shot -f /dev/null new-session -d -s demo -x 100 -y 20 \
        "python3 demo_source.py; sleep 3600"
    tmux -L ccbot-shot capture-pane -e -p -t demo > demo.ansi.txt
    tmux -L ccbot-shot capture-pane -e -p -N -t demo > demo_N.ansi.txt
    tmux -L ccbot-shot capture-pane -p -t demo > demo.txt
    tmux -L ccbot-shot kill-server

``codex_*.txt`` are copies of ``tests/data/codex-0.169/captures/{approval_prompt,slash_status}``
(real Codex 0.169 in a 120x40 pane), kept here so these tests do not move when those are re-recorded.
"""

import sys

w = sys.stdout.write
w(
    "16 fg: "
    + "".join(f"\x1b[{30 + i}m{i}" for i in range(8))
    + "".join(f"\x1b[{90 + i}m{i + 8:x}" for i in range(8))
    + "\x1b[0m\n"
)
w(
    "16 bg: "
    + "".join(f"\x1b[{40 + i}m {i}" for i in range(8))
    + "".join(f"\x1b[{100 + i}m {i + 8:x}" for i in range(8))
    + "\x1b[0m\n"
)
w("256:   " + "".join(f"\x1b[48;5;{n}m " for n in range(16, 88)) + "\x1b[0m\n")
w("grey:  " + "".join(f"\x1b[48;5;{n}m  " for n in range(232, 256)) + "\x1b[0m\n")
w("true:  " + "".join(f"\x1b[48;2;{x * 4};{255 - x * 4};128m " for x in range(64)) + "\x1b[0m\n")
w(
    "attrs: \x1b[1mbold\x1b[0m \x1b[2mdim\x1b[0m \x1b[3mitalic\x1b[0m \x1b[4munder\x1b[0m "
    "\x1b[7minverse\x1b[0m \x1b[1;31;44mbold red on blue\x1b[0m \x1b[7;32mgreen inv\x1b[0m\n"
)
w("\x1b[38;2;255;128;0mTRUE ORANGE\x1b[0m \x1b[38;5;196mIDX196\x1b[0m \x1b[41m  RED BG  \x1b[0m\n")
w("╭──────────┬─────╮  ┏━━━┓  ╔══╦══╗ ░▒▓█▀▄▌▐\n")
w("│ box      │ x   │  ┃ H ┃  ║  ║  ║ ▁▂▃▄▅▆▇█\n")
w("├──────────┼─────┤  ┣━━━┫  ╠══╬══╣ ┄┅┆┇╌╍\n")
w("╰──────────┴─────╯  ┗━━━┛  ╚══╩══╝ ╱╲╳\n")
w("CJK: 中文字符 日本語 한국어 | emoji: 😀🚀✅❤ | › • ⚠ ✔ ✗ ■ ◦ ↳ └\n")
w("\x1b[48;5;236m\x1b[K composer line with bg to end \x1b[0m\n")
w("end.")
sys.stdout.flush()
