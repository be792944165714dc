"""ccbot.inbox: safe, bounded, unique file names for files users send."""

from __future__ import annotations

import string
import unicodedata
from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from ccbot.inbox import MAX_NAME_BYTES, extension_of, safe_file_name, topic_dir_name, unique_name

ROOT = PurePosixPath("/srv/ccbot/inbox/chat-1-topic2")

any_name = st.one_of(
    st.none(),
    st.text(max_size=400),
    # names built from the dangerous pieces, so traversal/control cases are common
    st.lists(st.sampled_from(["..", ".", "/", "\\", "\x00", "\n", "\u202e", "\u200b", " ", "-", "a", "é",
                              "e\u0301", "\u0301", "文件", ".txt", ".tar.gz", "~", "$", "\t", "\x7f",
                              "\x9b"]),
             max_size=40).map("".join),
)


def assert_safe(name: str) -> None:
    assert name
    assert name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith((".", "-"))
    for ch in name:
        assert unicodedata.category(ch)[0] not in "CZ", repr(name)  # no control/format/space characters
        assert not ch.isspace()
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    # one component that stays inside its directory
    joined = ROOT / name
    assert joined.parent == ROOT and joined.name == name


@given(any_name, st.text(max_size=30),
       st.sampled_from(["", ".jpg", "jpg", ".PNG", ".../x", ".toolongextension1"]))
def test_any_input_gives_a_safe_component(name: str | None, stem: str, ext: str) -> None:
    assert_safe(safe_file_name(name, default_stem=stem, default_ext=ext))


@given(any_name)
def test_sanitising_is_idempotent(name: str | None) -> None:
    once = safe_file_name(name)
    assert safe_file_name(once) == once


@given(st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=300),
       st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10))
def test_sane_extension_survives_even_when_the_stem_is_cut(stem: str, ext: str) -> None:
    name = safe_file_name(f"{stem}.{ext}", default_ext=".bin")
    assert name.endswith("." + ext.lower())
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert len(name) > len(ext) + 1  # something of the stem is left


def test_examples() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_file_name("..", default_stem="document-7") == "document-7"
    assert safe_file_name(None, default_stem="photo-12", default_ext=".jpg") == "photo-12.jpg"
    assert safe_file_name(".bashrc") == "bashrc"
    assert safe_file_name("-rf.txt") == "rf.txt"
    # "my_report__final_" collapses runs of "_" and strips them at the ends
    assert safe_file_name("my report (final).PDF") == "my_report_final.pdf"
    assert safe_file_name("a\nb\x00c.txt") == "a_b_c.txt"
    # a right-to-left override would make "\u202egpj.exe" look like "exe.jpg"
    assert safe_file_name("invoice\u202egpj.exe") == "invoice_gpj.exe"
    assert safe_file_name("e\u0301te\u0301.md") == "été.md"  # NFC
    assert safe_file_name("отчёт 2024.docx") == "отчёт_2024.docx"
    assert safe_file_name("archive.tar.gz") == "archive.tar.gz"
    # no sane extension: the default is used, and the odd suffix stays part of the stem
    assert safe_file_name("notes.my-ext", default_ext=".txt") == "notes.my-ext.txt"
    assert safe_file_name("Makefile") == "Makefile"


def test_long_multibyte_name_is_cut_between_code_points() -> None:
    name = safe_file_name("文" * 200 + ".txt")
    assert name.endswith(".txt")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert set(name[:-4]) == {"文"}
    assert len(name[:-4]) == (MAX_NAME_BYTES - 4) // 3


def test_extension_of_telegram_paths() -> None:
    assert extension_of("photos/file_2.jpg") == ".jpg"
    assert extension_of("voice/file_7.oga") == ".oga"
    assert extension_of("documents/file_3") == ""
    assert extension_of(None) == ""
    assert extension_of("dir.d/noext") == ""


def test_unique_name_counts_up() -> None:
    taken = {"a.txt", "a-2.txt", "b"}
    assert unique_name("c.txt", taken) == "c.txt"
    assert unique_name("a.txt", taken) == "a-3.txt"
    assert unique_name("b", taken) == "b-2"


@given(any_name, st.integers(min_value=1, max_value=30))
def test_unique_names_never_collide_and_stay_safe(name: str | None, count: int) -> None:
    base = safe_file_name(name)
    taken: set[str] = set()
    for _ in range(count):
        fresh = unique_name(base, taken)
        assert fresh not in taken
        assert_safe(fresh)
        taken.add(fresh)
    assert len(taken) == count


@given(st.integers(min_value=-(10**13), max_value=10**13), st.integers(min_value=0, max_value=10**9),
       st.integers(min_value=-(10**13), max_value=10**13), st.integers(min_value=0, max_value=10**9))
def test_topic_dirs_are_distinct_and_safe(c1: int, t1: int, c2: int, t2: int) -> None:
    a, b = topic_dir_name(c1, t1), topic_dir_name(c2, t2)
    assert (a == b) == ((c1, t1) == (c2, t2))
    assert_safe(a)
