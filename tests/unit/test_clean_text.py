from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ccbot.tmux.keys import clean_user_text


def test_examples() -> None:
    assert clean_user_text("a\x1b[31mb\x07c\r\nd\te\x03f\u0085g\x7f") == "a[31mbc\nd\tefg"
    assert clean_user_text("Enter C-c ; -x 🎉 שלום") == "Enter C-c ; -x 🎉 שלום"


@given(st.text())
def test_no_control_characters_survive_and_idempotent(text: str) -> None:
    cleaned = clean_user_text(text)
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in cleaned)
    assert clean_user_text(cleaned) == cleaned


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_text_without_controls_is_unchanged(text: str) -> None:
    assert clean_user_text(text) == text
