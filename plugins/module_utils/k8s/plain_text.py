# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text written by a cluster, made safe to show: one_line() is the one place
that turns a status message, a policy name, a reason or an API error a
replica (or its API server) wrote into one line of plain text of bounded
length. Whatever a replica writes, a report prints it as text on its own
line: no terminal escape sequence runs, no newline starts a row of another
cluster, no bidi control reorders what a reader sees.

Pure; no Ansible import (the agent, the modules and the filters use it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata

# A status message, a policy name, a reason: what a reader needs fits in this.
MAX_TEXT = 256
# An error message names the action, the cluster and the API's reason: longer, still bounded.
MAX_ERROR = 1024
ELLIPSIS = u"\u2026"

# Terminal escape sequences, removed whole (not only their ESC, or "[31m" would be left in the text):
# CSI (ESC [ or the 8-bit CSI, parameters, intermediates, a final byte), OSC/DCS/SOS/PM/APC strings up to
# their terminator (BEL or ST) or the end, and the other ESC sequences (intermediates, then a final byte).
_ESCAPES = re.compile(
    u"(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    u"|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"
    u"|\x1b[\x20-\x2f]*[\x30-\x7e]?")
_SPACES = re.compile(r"\s+", re.UNICODE)
# Removed: C0 and C1 controls and DEL (Cc), format characters (Cf: bidi embeddings, overrides and isolates,
# zero-width characters, the BOM), and lone surrogates (Cs), which could not even be encoded for output.
_REMOVED_CATEGORIES = ("Cc", "Cf", "Cs")


def one_line(value, limit=MAX_TEXT):
    """*value* as one line of printable text of at most *limit* characters.

    None stays None; anything else is made text (str()). Escape sequences are
    removed, every kind of white space (newlines, tabs, line and paragraph
    separators) becomes one space, other control and format characters are
    removed, and text longer than *limit* is cut and ends with an ellipsis."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    text = _ESCAPES.sub("", value)
    text = _SPACES.sub(" ", text)
    text = u"".join(ch for ch in text if unicodedata.category(ch) not in _REMOVED_CATEGORIES)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[:max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text
