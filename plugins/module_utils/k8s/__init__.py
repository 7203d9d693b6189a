# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource layer: how the collection talks to any Kubernetes API server, knowing nothing of the registry.

- ``connection``: kubernetes.core's connection options (``K8S_AUTH_*``) and a kubeconfig into an ApiClient;
  ``kubeconfig``: kubeconfigs parsed, resolved and built; a credential read from a cluster is data, built into a
  client from its values alone (``read_credential``), never handed to the kubernetes client's loader.
- ``client``: ``ClusterClient``, the one place a request is sent (one deadline a call, retries, paging,
  patches sent as the merge patches they are computed as); ``json_lists``: a list answer decoded an item at a
  time; ``retries``: the deadline and backoff;
  ``wait``: the one poll-until-deadline; ``discovery``: what a namespace holds, of every type the server serves.
- ``compare``: where "no change" is decided - only the fields the collection owns are compared.
- ``apply``: ``converge``, the one read-compare-write every update goes through (and ``ensure``, ``remove``,
  ``view``).
- ``kinds``: the resource kinds the collection touches; ``errors``: ``MulticlusterError`` and secret-free messages;
  ``validation``, ``plain_text``, ``redaction``, ``timestamps``: input rules, text from a cluster shown as text,
  what never reaches output, times.
- ``args`` and ``module``: the connection argument spec and ``MulticlusterModule``, the AnsibleModule every
  module is (inputs validated once, at the module boundary)."""
