"""validation.py at its boundaries: DNS-1123 labels (63) and subdomains (253), label keys and values, the
https:// rule's less obvious refusals, and errors that name the option and the rule (test_validation.py has
the https:// rule's main cases and where else it is enforced)."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import validation
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError

LABEL_RULE = ("a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, "
              "at most 63 characters)")
SUBDOMAIN_RULE = "DNS-1123: lower-case letters, digits, '-' and '.', at most 253 characters"
KEY_RULE = ("at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric, after an "
            "optional DNS-1123 subdomain prefix and '/'")
VALUE_RULE = "at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric"

A63 = "a" * 63
SUB253 = ".".join([A63, A63, A63, "a" * 61])  # 63 + 1 + 63 + 1 + 63 + 1 + 61


def test_the_boundary_values_are_as_long_as_they_say():
    assert (len(A63), len(SUB253)) == (63, 253)


# --- DNS-1123 labels (cluster, replica and namespace names) and subdomains (object names) ------------------

LABEL_GOOD = ["a", "0", "123", "a-b", "a--b", "east-coast-production", "x1", A63, "0" + "a" * 61 + "9"]
LABEL_BAD = ["", "a" * 64, "-east", "east-", "-", "East", "eAst", "EAST", "east.coast", "east_coast", "east coast",
             " east", "east\t", "\u00e9ast", "east/1", None, 5, ["east"]]
SUBDOMAIN_GOOD = ["a", "directory-sync", "a.b", "kube-root-ca.crt", "a-1.b-2.c-3", "1.2.3", SUB253,
                  "a" * 253]  # Kubernetes checks no label length inside a subdomain, only the whole
SUBDOMAIN_BAD = ["", SUB253 + "a", "a" * 254, ".a", "a.", "a..b", "-a.b", "a-.b", "a.-b", "a.b-", "A.b", "a.B",
                 "a_b", "a b", "a/b", "a:b", None, 1]
# kind: (is_..., ..._problem, validate_... as a module calls it with the option's name, the problem of a value)
NAMES = {"label": (validation.is_dns1123_label, validation.label_problem,
                   lambda value: validation.validate_name(value, "replica name"), "%r is not " + LABEL_RULE),
         "subdomain": (validation.is_dns1123_subdomain, validation.subdomain_problem,
                       lambda value: validation.validate_subdomain(value, "secret_name"),
                       "%r is not a valid Kubernetes name (" + SUBDOMAIN_RULE + ")")}
OPTION = {"label": "replica name", "subdomain": "secret_name"}


@pytest.mark.parametrize("kind, name", [("label", n) for n in LABEL_GOOD] + [("subdomain", n) for n in SUBDOMAIN_GOOD])
def test_a_dns1123_name_is_accepted(kind, name):
    is_name, problem, validate, dummy = NAMES[kind]
    assert is_name(name) and problem(name) is None and validate(name) == name


@pytest.mark.parametrize("kind, name", [("label", n) for n in LABEL_BAD] + [("subdomain", n) for n in SUBDOMAIN_BAD])
def test_anything_else_is_refused_and_the_error_names_the_option_and_the_rule(kind, name):
    is_name, problem, validate, message = NAMES[kind]
    assert not is_name(name)
    assert problem(name) == message % (name,)
    with pytest.raises(MulticlusterError) as err:
        validate(name)
    assert str(err.value) == "%s %s" % (OPTION[kind], message % (name,))


def test_validate_name_says_cluster_name_unless_told():
    with pytest.raises(MulticlusterError, match=r"^cluster name 'East' is not a DNS-1123 label"):
        validation.validate_name("East")


def test_a_label_is_a_subdomain_but_not_the_other_way_round():
    assert all(validation.is_dns1123_subdomain(name) for name in LABEL_GOOD)
    assert not validation.is_dns1123_label("a.b") and validation.is_dns1123_subdomain("a.b")
    assert not validation.is_dns1123_label("a" * 64) and validation.is_dns1123_subdomain("a" * 64)


# --- label keys (and resource names) and label values ---------------------------------------------------------

KEY_GOOD = ["team", "Team", "T", "app.kubernetes.io/name", "requests.cpu", "count/pods", "a_b.c-D", A63,
            "example.com/" + A63, SUB253 + "/team", "pod-security.kubernetes.io/enforce", "9"]
KEY_BAD = ["", "a" * 64, "example.com/" + "a" * 64, "/team", "example.com/", "Example.com/team", "exa_mple.com/team",
           "-example.com/team", SUB253 + "a/team", "a/b/c", "-team", "team-", "_team", "team.", "te am", "team:x",
           "t\u00e9am"]
VALUE_GOOD = ["", "a", "A", "0", "production", "us-east-1", "v1.2_3", "A-b_c.D", A63]
VALUE_BAD = ["a" * 64, "-a", "a-", ".a", "a.", "_a", "a_", "a b", "a/b", "a:b", "a@b", "caf\u00e9", " a"]
PARTS = {"key": (validation.label_key_problem, "%r is not a valid Kubernetes label name (" + KEY_RULE + ")"),
         "value": (validation.label_value_problem, "label value %r is not valid (" + VALUE_RULE + ")")}


@pytest.mark.parametrize("part, text", [("key", k) for k in KEY_GOOD] + [("value", v) for v in VALUE_GOOD])
def test_a_label_key_or_value_is_accepted(part, text):
    assert PARTS[part][0](text) is None


@pytest.mark.parametrize("part, text", [("key", k) for k in KEY_BAD] + [("value", v) for v in VALUE_BAD])
def test_anything_else_is_refused_as_a_label_key_or_value_naming_the_rule(part, text):
    problem, message = PARTS[part]
    assert problem(text) == message % (text,)


def test_a_label_key_problem_names_what_the_key_is_for():
    assert validation.label_key_problem("a/b/c", "resource name") == \
        "'a/b/c' is not a valid Kubernetes resource name (%s)" % KEY_RULE


@pytest.mark.parametrize("part, text, type_name", [
    ("key", 5, "int"), ("key", None, "NoneType"), ("key", ("a",), "tuple"),
    ("value", 1, "int"), ("value", True, "bool"), ("value", None, "NoneType"), ("value", ["a"], "list")])
def test_a_label_key_or_value_that_is_not_a_string_says_what_it_is(part, text, type_name):
    assert PARTS[part][0](text) == "label %s %r is a %s, not a string" % (
        "name" if part == "key" else "value", text, type_name)


# --- validate_labels: the labels option of mc_cluster, mc_replica_onboarding, mc_cluster_policy -----------------

def test_valid_labels_come_back_as_given_and_none_removes_a_label():
    labels = {"stage": "production", "app.kubernetes.io/part-of": "fleet", "gone": None, "empty": ""}
    assert validation.validate_labels(labels) is labels
    assert validation.validate_labels({}) == {} and validation.validate_labels(None) is None


@pytest.mark.parametrize("labels, message", [
    ({"Stage!": "x"}, "label key 'Stage!' is not a valid Kubernetes label name (%s)" % KEY_RULE),
    ({"a" * 64: "x"}, "label key %r is not a valid Kubernetes label name (%s)" % ("a" * 64, KEY_RULE)),
    ({"stage": "prod uction"}, "label stage has invalid value 'prod uction' (%s)" % VALUE_RULE),
    ({"stage": "-prod"}, "label stage has invalid value '-prod' (%s)" % VALUE_RULE),
    ({"stage": "a" * 64}, "label stage has invalid value %r (%s)" % ("a" * 64, VALUE_RULE)),
    # YAML reads `replicas: 3` and `gpu: yes` as a number and a boolean: not label values
    ({"replicas": 3}, "label replicas has invalid value 3 (%s)" % VALUE_RULE),
    ({"gpu": True}, "label gpu has invalid value True (%s)" % VALUE_RULE),
])
def test_a_bad_label_is_refused_naming_its_key_and_the_rule(labels, message):
    with pytest.raises(MulticlusterError) as err:
        validation.validate_labels(dict({"stage-ok": "fine"}, **labels))
    assert str(err.value) == message


# --- a trailing newline: "$" would match before it (fullmatch) ----------------------------------------------------------------

@pytest.mark.parametrize("check", [
    lambda: validation.is_dns1123_label("east\n"),
    lambda: validation.is_dns1123_subdomain("directory-sync\n"),
    lambda: validation.label_key_problem("team\n") is None,
    lambda: validation.label_value_problem("production\n") is None,
], ids=["label", "subdomain", "label-key", "label-value"])
def test_a_trailing_newline_is_refused(check):
    assert not check()


# --- https:// URLs: the cases test_validation.py leaves out --------------------------------------------------

URL_GOOD = ["https://api.example.com:6443/k8s/clusters/c-1", "https://api.example.com#x", "https://a.b/?q=a@b",
            "https://api.example.com/a@b"]  # an @ after the host is in the path, not user info
URL_BAD = ["https://api.example.com\t", "https://api.example.com\r", "https://api.example.com\x7f",
           "https://api.example.com/\u00a0", "https://@api.example.com", "https://api.example.com:6443@evil.example.net",
           "https://#frag", "https:/api.example.com", "https:api.example.com", "//api.example.com",
           "https//api.example.com", b"https://api.example.com"]


@pytest.mark.parametrize("value", URL_GOOD)
def test_more_https_urls_that_pass(value):
    assert validation.validate_https_url(value, "console_url") == value


@pytest.mark.parametrize("value", URL_BAD)
def test_more_values_that_are_not_https_urls(value):
    with pytest.raises(MulticlusterError) as err:
        validation.validate_https_url(value, "console_url")
    message = str(err.value)
    assert message.startswith("console_url %r is not " % (value,)) and message.endswith(validation.HTTPS_URL_RULE)
    assert all(char not in message for char in "\t\r\x7f\u00a0")


@pytest.mark.parametrize("value", ["http://api.example.com", "http://api.example.com:8080/path", "HTTP://x"])
def test_plain_http_is_refused_naming_the_option_and_why(value):
    with pytest.raises(MulticlusterError) as err:
        validation.validate_https_url(value, "endpoints[0]")
    assert str(err.value) == ("endpoints[0] %r is plain http://, not %s: a credential sent there would cross the "
                              "network in clear text" % (value, validation.HTTPS_URL_RULE))
