# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A list answer of the API server decoded one item at a time: each item of its "items" array is decoded alone and
handed to the caller's function before the next is read, so that a list of 10,000 objects in one answer (the watch
cache does not page) is never in memory whole, only what the caller keeps of each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_SPACE = re.compile(r"[ \t\n\r]*")


class NotAList(ValueError):
    """The answer is not a JSON object (a list's)."""


def _skip(text, pos):
    return _SPACE.match(text, pos).end()


def _expect(text, pos, char):
    pos = _skip(text, pos)
    if text[pos:pos + 1] != char:
        raise NotAList("expected %r at character %d of the answer" % (char, pos))
    return pos + 1


def decode_list(text, item=None, object_hook=None):
    """The JSON object *text* as a dict, whose "items" array (when it has one) holds item(each item) (the item as
    decoded, without *item*). *object_hook*: json's, for every object decoded. NotAList (a ValueError, as json
    raises) when *text* is not a JSON object."""
    decode = json.JSONDecoder(object_hook=object_hook).raw_decode
    found = {}
    pos = _expect(text, 0, "{")
    pos = _skip(text, pos)
    if text[pos:pos + 1] == "}":
        return found
    while True:
        key, pos = decode(text, _skip(text, pos))
        if not isinstance(key, str):
            raise NotAList("a key of the answer is not a string")
        pos = _skip(text, _expect(text, pos, ":"))
        if key == "items" and text[pos:pos + 1] == "[":
            items, pos = [], _skip(text, pos + 1)
            if text[pos:pos + 1] == "]":
                pos += 1
            else:
                while True:
                    value, pos = decode(text, _skip(text, pos))
                    items.append(value if item is None else item(value))
                    pos = _skip(text, pos)
                    if text[pos:pos + 1] == "]":
                        pos += 1
                        break
                    pos = _expect(text, pos, ",")
            found[key] = items
        else:
            found[key], pos = decode(text, pos)
        pos = _skip(text, pos)
        if text[pos:pos + 1] == "}":
            if _skip(text, pos + 1) != len(text):
                raise NotAList("the answer goes on after its object")
            return found
        pos = _expect(text, pos, ",")
