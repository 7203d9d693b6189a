"""The part of a ClusterClient that the in-memory fakes of the unit tests share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy


class NotFound(Exception):
    """What the fakes raise where the API answers 404."""

    status = 404


class FakeClusterClient:
    """ClusterClient's read/call/write/delete/to_dict over the fakes' own API
    methods (a subclass provides those); no retries, no error mapping."""

    check_mode = False

    @property
    def dry_run(self):
        return "All" if self.check_mode else None

    def read(self, kind, name, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NotFound:
            return None

    def call(self, action, kind, name, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    write = call

    def delete(self, kind, name, fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
            return True
        except NotFound:
            return False

    def to_dict(self, obj):
        return copy.deepcopy(obj)
