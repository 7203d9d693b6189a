# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a sync reads, before anything is planned: the directory's whole desired set (bounded: every list paged,
every answer and object within the replica's Limits, else nothing on the replica changes), what the replica
holds of the syncer's, and the directory credential from the replica's Secret (as data, never through a
loader)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import TooLargeError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.json_lists import decode_list
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MulticlusterError, api_reason, http_status, is_missing_type)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display, key_of
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    load_kubeconfig_option, resolve_kubeconfig)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DIRECTORY_PAGE_SIZE, MANAGED_SELECTOR, SOURCES, Limits, kept, over_limit, page_too_large, too_many)
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import (
    read_sync_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import same_server
from ansible_collections.coreos.multicluster.plugins.module_utils import names


class DirectoryError(MulticlusterError):
    """The directory could not be read: nothing on the replica was changed."""


class OverLimit(MulticlusterError):
    """The directory holds more than the replica accepts (sync/plan.Limits): nothing on the replica was changed."""


def directory_reason(exc):
    """Why the directory could not be read, worded for the replica's operator."""
    if isinstance(exc, MulticlusterError):
        status = exc.details.get("status")
        if status == 401:
            return "the directory refused the credential (HTTP 401 Unauthorized)"
        if status == 403:
            return "the directory refused the credential (HTTP 403 Forbidden: %s)" % str(exc).split(": ", 1)[-1]
        return str(exc)
    status = http_status(exc)
    reason = api_reason(exc)
    if is_missing_type(exc):
        return "the directory has no such API (%s)" % reason
    return "cannot read the directory: %s" % reason if status else reason


def strip_while_decoding(obj):
    """A json object_hook for directory lists: drops managedFields from each object's metadata and status from
    each object as the answer is decoded (kept() drops both), so that a list read in one answer (the watch
    cache does not page) never holds them all at once."""
    if "managedFields" in obj and ("resourceVersion" in obj or "uid" in obj):
        del obj["managedFields"]
    elif "status" in obj and "metadata" in obj and "kind" in obj:
        del obj["status"]
    return obj


# How a directory list is read (read_kind's *cached*). CONSISTENT: pages from etcd (a consistent read of each
# page). CACHED: one answer from the API server's watch cache, any version it holds: the agent's (re)list, whose
# watch then starts from the list's version, so that nothing after it is missed. WHOLE: one consistent answer (no
# resourceVersion, no limit), which API servers from 1.31 on (ConsistentListFromCache) serve from their watch cache
# once it is as new as etcd, and older ones from etcd as pages would be: a one-off run (mc_directory_sync) sees what
# was written just before it. (A cached list "not older than" etcd's newest version does not serve it on 1.20: the
# cache of one resource moves only with that resource's events, so the request waits, then times out.)
CONSISTENT = None
CACHED = "cached"
WHOLE = "whole"
# The most a list read in one answer may be: past it the list is read again in pages from etcd, each bounded by
# Limits.page_bytes() (10,000 Clusters are about 10 MB)
CACHED_LIST_BYTES = 32 * 1024 * 1024


class _Keeper(object):
    """What a list keeps of each object of *kind*, as the answer is decoded (json_lists: an item at a time): the
    object as the sync keeps it (kept()), held to the limits (OverLimit from within the decoding: nothing more is
    read), then *store*d (default: as it is). Each item becomes (its key, what is stored)."""

    def __init__(self, kind, limits, store=None):
        self.kind, self.limits, self.store = kind, limits, store
        self.most = limits.count_of(kind)[0]
        self.count = 0

    def __call__(self, obj):
        if self.count == self.most:
            raise OverLimit(too_many(self.kind, self.limits), details={"limit": self.limits.count_of(self.kind)[1]})
        self.count += 1
        obj = kept(obj)
        problem = over_limit(self.kind, obj, self.limits)
        if problem is not None:
            raise OverLimit(problem[1], details={"limit": problem[0]})
        return key_of(obj), (obj if self.store is None else self.store(obj))

    def read(self, directory, **how):
        """(what is stored of each object, sorted by key; the list's resourceVersion)."""
        self.count, items, version = 0, [], None
        decode = functools.partial(decode_list, item=self, object_hook=strip_while_decoding)
        for page, version in directory.pages(self.kind, decode=decode, **how):
            items.extend(page)
        items.sort(key=lambda pair: pair[0])
        return [stored for key, stored in items], version


def read_kind(directory, kind, limits, cached=CONSISTENT, store=None):
    """(the objects of *kind* in the directory as the sync keeps them
    (sync/plan.kept), or what *store* makes of each, sorted; the list's
    resourceVersion). Read a page at a time (or in one answer, *cached*:
    CACHED, WHOLE), each object stripped as it is decoded; OverLimit as soon
    as one object, one page or the count passes *limits* (nothing more is
    read)."""
    keeper = _Keeper(kind, limits, store)
    if cached is not CONSISTENT:
        try:
            return keeper.read(directory, page_size=None, max_bytes=CACHED_LIST_BYTES,
                               resource_version="0" if cached == CACHED else None)
        except TooLargeError:
            pass  # larger than one answer may be: read it in bounded pages
    try:
        return keeper.read(directory, page_size=DIRECTORY_PAGE_SIZE, max_bytes=limits.page_bytes())
    except TooLargeError:
        raise OverLimit(page_too_large(kind, limits), details={"limit": "max_object_bytes"}) from None


def read_directory(directory, sources=SOURCES, limits=None, cached=CONSISTENT, store=None):
    """({kind name: items} of every kind the sources read, {plural:
    resourceVersion} (for a watch), {kind name: reason} of the optional kinds
    that could not be read (their items are None)). Errors reading a kind
    that is not optional are the client's; a directory over *limits* (default
    Limits()) raises OverLimit, whether the kind is optional or not. *cached*
    and *store*: how each list is read and what is kept of each (read_kind)."""
    limits = limits or Limits()
    snapshot, versions, errors = {}, {}, {}
    for source in sources:
        for kind in source.reads:
            if kind.kind in snapshot:
                continue
            try:
                snapshot[kind.kind], versions[kind.plural] = read_kind(directory, kind, limits, cached, store)
            except OverLimit:
                raise
            except MulticlusterError as exc:
                if kind not in getattr(source, "optional", ()):
                    raise
                snapshot[kind.kind], errors[kind.kind] = None, directory_reason(exc)
    return snapshot, versions, errors


def read_replica(replica, sources=SOURCES):
    """{source name: the objects of its target kind on the replica that carry
    the mark}, sorted, without their managedFields (the sync never uses them:
    they would double what a held object costs in memory)."""
    found = {}
    for source in sources:
        items = []
        for page, dummy in replica.pages(source.target, label_selector=MANAGED_SELECTOR):
            for obj in page:
                (obj.get("metadata") or {}).pop("managedFields", None)
                items.append(obj)
        found[source.name] = sorted(items, key=key_of)
    return found


def directory_credential(replica, value, secret_namespace, secret_name, expected_server=None):
    """(credential, server) of the directory: *value* (the operator's own
    kubeconfig: a dict, text or a file's path) as a kubeconfig dict, else the
    Credential in the replica's sync Secret - data, read by the strict reader
    (kubeconfig.read_credential): a kubeconfig there with anything but a
    server, CA, TLS server name and token is refused before any request, and
    so is one whose server is not *expected_server* (the directory's address
    from the operator's inventory) when that is given: the replica's admin
    writes that Secret, and would otherwise choose where the controller sends
    requests."""
    what = "directory_kubeconfig"
    if value in (None, "", {}):
        credential = read_sync_credential(replica, secret_namespace, secret_name)
        if credential is None:
            raise MulticlusterError(
                "read Secret %s on cluster '%s': it does not exist or has no key '%s'; store the replica's directory "
                "credential with coreos.multicluster.mc_sync_secret, or give directory_kubeconfig"
                % (display(secret_namespace, secret_name), replica.label, names.CREDENTIAL_SECRET_KEY), cluster=replica.label)
        if expected_server and not same_server(credential.server, expected_server):
            where = (display(secret_namespace, secret_name), replica.label, one_line(repr(credential.server)),
                     expected_server)
            raise MulticlusterError(
                "the kubeconfig in Secret %s on cluster '%s' names the server %s, not the directory's address %s "
                "(directory_server): refused, no request was made with it; onboard the replica again to store a "
                "credential for the directory" % where, cluster=replica.label)
        return credential, credential.server
    config = load_kubeconfig_option(value, what)
    return config, resolve_kubeconfig(config, what)["server"]
