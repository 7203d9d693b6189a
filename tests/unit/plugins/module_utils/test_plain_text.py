"""plain_text.one_line: what a replica wrote, shown as one line of plain text of bounded length."""

import unicodedata

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import ELLIPSIS, MAX_TEXT, one_line


@pytest.mark.parametrize("text, shown", [
    ("3 Clusters in sync", "3 Clusters in sync"),
    # ANSI: colours, cursor moves, screen clear, a window title (OSC, BEL- or ST-terminated), 8-bit CSI
    ("\x1b[31mfailed\x1b[0m", "failed"),
    ("ok\x1b[2J\x1b[H\x1b[1;1Hall good", "okall good"),
    ("\x1b]0;owned\x07title", "title"),
    ("\x1b]8;;https://attacker.example.net\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x9b31mred", "red"),
    ("\x1b(Bcharset", "charset"),
    ("a\x1b", "a"),
    # newlines, tabs and other white space are one space
    ("line one\nline two\r\nline three", "line one line two line three"),
    ("a\tb\x0bc\x0cd", "a b c d"),
    ("a\u2028b\u2029c\x85d", "a b c d"),
    ("  padded  \n", "padded"),
    # other controls and format characters are removed
    ("nul\x00bel\x07del\x7fc1\x80\x9f", "nulbeldelc1"),
    ("user\u202egnp.exe", "usergnp.exe"),                  # right-to-left override
    ("\u2066isolated\u2069 \u200bzero\u200dwidth\ufeff", "isolated zerowidth"),
    ("lone \ud800surrogate", "lone surrogate"),
    # text stays text: letters of any script, punctuation, {{ }} are shown as they are
    ("Ünïcödé – 東京 ✓ {{ lookup('env', 'HOME') }}", "Ünïcödé – 東京 ✓ {{ lookup('env', 'HOME') }}"),
])
def test_what_a_replica_wrote_becomes_one_line_of_text(text, shown):
    assert one_line(text) == shown


def test_a_fake_row_stays_in_the_line_it_was_written_in():
    fake = "3 Clusters in sync\nwest-coast-production  directory  yes  -  -  1/1  ok\x1b[1A"
    shown = one_line(fake)
    assert "\n" not in shown and "\x1b" not in shown and shown.startswith("3 Clusters in sync west-coast-production")


def test_long_text_is_cut_with_an_ellipsis():
    assert len(one_line("x" * 10000)) == MAX_TEXT and one_line("x" * 10000).endswith(ELLIPSIS)
    assert one_line("x" * MAX_TEXT) == "x" * MAX_TEXT
    assert one_line("word " * 100, 20) == "word word word word" + ELLIPSIS
    assert one_line("abcdef", 4) == "abc" + ELLIPSIS


def test_the_limit_counts_what_is_shown_not_what_was_sent():
    padded = "\x1b[0m" * 1000 + "short"
    assert one_line(padded) == "short"


def test_none_stays_none_and_other_values_become_text():
    assert one_line(None) is None
    assert one_line(42) == "42" and one_line(["a\nb"]) == "['a\\nb']"
    assert one_line(b"bytes\xff\n") == "bytes\ufffd"


def test_every_result_is_printable():
    hostile = "".join(chr(c) for c in range(0, 0x250)) + "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    shown = one_line(hostile, 10000)
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in shown)
    assert one_line(shown, 10000) == shown  # the same again: safe to apply at every boundary
