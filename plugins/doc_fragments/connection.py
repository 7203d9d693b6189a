# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options of plugins/module_utils/k8s/args.py (CONNECTION_ARG_SPEC).

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or a kubeconfig given as a dictionary.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
      - When neither O(kubeconfig) nor O(host) is set, the default kubeconfig is used (E(KUBECONFIG) or
        C(~/.kube/config)) if it exists, else the in-cluster service account when running in a pod.
      - A dictionary is not hidden from logs; prefer a file (or Ansible Vault) for credentials.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Defaults to the kubeconfig's current context.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
      - It also names the cluster in messages.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://api.example.com:6443).
      - Overrides the server of the kubeconfig, if one is loaded.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate with the API server. Overrides the kubeconfig's credentials.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) or E(K8S_AUTH_VALIDATE_CERTS) environment variable.
      - When not set, the kubeconfig decides (verification is on unless it says C(insecure-skip-tls-verify)).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the API server's certificate.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) or E(K8S_AUTH_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate used to authenticate with the API server.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) or E(K8S_AUTH_CLIENT_CERT) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the private key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) or E(K8S_AUTH_CLIENT_KEY) environment variable.
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through.
      - Can also be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  request_timeout:
    description:
      - Seconds one API call may take, retries included. Each request gets a connect timeout of at most
        10 seconds and a read timeout of what is left; a timeout, a lost connection, HTTP 429 and 5xx answers
        are retried with backoff while time is left.
      - A cluster that does not answer (a frozen API server, a black-holed network) fails the task after about
        this many seconds with a message that names the cluster, the call and the time waited; a re-run
        converges once the cluster answers again.
      - Defaults to V(30). Can also be set with the E(K8S_AUTH_REQUEST_TIMEOUT) environment variable.
    type: int
notes:
  - The connection options and their C(K8S_AUTH_*) variables are those of M(kubernetes.core.k8s), so an AWX
    C(OpenShift or Kubernetes API Bearer Token) credential works as it is.
  - "The collection's modules run in the worker process Ansible forks for each host and task, not in a module process
    of their own, when that gives the same result: C(connection: local), the controller's Python as the interpreter
    of the host that runs the module (the delegated one with C(delegate_to)), no C(become) or C(async), and
    ansible-core 2.19. That saves about half a second of CPU per host and task. C(-vvv) says which way each task
    ran, and why."
  - E(MC_IN_PROCESS=0) in the environment of C(ansible-playbook) (or of an AWX job template) runs every task as a
    module process, to tell whether a difference comes from running in process, or to keep each module in a process
    that holds nothing but its own task's arguments.
"""

    # The sub-options of a dict option naming a second cluster (k8s/args.py.connection_suboption_spec()).
    # The module documents the option itself (description, type: dict) and adds
    # coreos.multicluster.connection.<option name> to extends_documentation_fragment.
    CLUSTER_CONNECTION = r"""
options:
  cluster_connection:
    suboptions:
      kubeconfig:
        description:
          - Path to a kubeconfig file, or a kubeconfig given as a dictionary.
          - No environment variable is read for it.
        type: raw
      context:
        description:
          - The kubeconfig context to use. Defaults to the kubeconfig's current context.
        type: str
      host:
        description:
          - URL of the Kubernetes API server. Overrides the server of the kubeconfig, if one is loaded.
        type: str
      api_key:
        description:
          - Bearer token used to authenticate with the API server.
        type: str
      validate_certs:
        description:
          - Whether to verify the API server's TLS certificate. When not set, the kubeconfig decides.
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description:
          - Path to a CA certificate bundle used to verify the API server's certificate.
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description:
          - Path to a client certificate used to authenticate with the API server.
        type: path
        aliases: [cert_file]
      client_key:
        description:
          - Path to the private key of the client certificate.
        type: path
        aliases: [key_file]
      proxy:
        description:
          - URL of an HTTP proxy to reach the API server through.
        type: str
      request_timeout:
        description:
          - Seconds one API call to this cluster may take, retries included. Defaults to O(request_timeout).
        type: int
"""

    REPLICA_CONNECTION = r"""
options:
  replica_connection:
    suboptions:
      kubeconfig:
        description:
          - Path to a kubeconfig file, or a kubeconfig given as a dictionary.
          - No environment variable is read for it.
        type: raw
      context:
        description:
          - The kubeconfig context to use. Defaults to the kubeconfig's current context.
        type: str
      host:
        description:
          - URL of the Kubernetes API server. Overrides the server of the kubeconfig, if one is loaded.
        type: str
      api_key:
        description:
          - Bearer token used to authenticate with the API server.
        type: str
      validate_certs:
        description:
          - Whether to verify the API server's TLS certificate. When not set, the kubeconfig decides.
        type: bool
        aliases: [verify_ssl]
      ca_cert:
        description:
          - Path to a CA certificate bundle used to verify the API server's certificate.
        type: path
        aliases: [ssl_ca_cert]
      client_cert:
        description:
          - Path to a client certificate used to authenticate with the API server.
        type: path
        aliases: [cert_file]
      client_key:
        description:
          - Path to the private key of the client certificate.
        type: path
        aliases: [key_file]
      proxy:
        description:
          - URL of an HTTP proxy to reach the API server through.
        type: str
      request_timeout:
        description:
          - Seconds one API call to this cluster may take, retries included. Defaults to O(request_timeout).
        type: int
"""
