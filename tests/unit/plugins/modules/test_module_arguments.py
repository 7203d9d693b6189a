"""Each module's argument handling, without a cluster: its EXAMPLES' arguments pass its argument spec and the
constraints main() gives MulticlusterModule (mutually_exclusive, required_if), and a wrong type, a value outside
the choices, a missing required option, an unknown option or a combination the module refuses fails, with an
error naming the option. What the spec declares is checked against what the module's documentation says."""

import copy
import functools
import importlib
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import CONNECTION_ARG_SPEC
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PREFIX = "coreos.multicluster."
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.startswith("mc_") and name.endswith(".py"))
# the keyword arguments of AnsibleModule that ArgumentSpecValidator takes too
CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")

# What each module declares, written out here so that a change to a spec or to main() shows in this file.
REQUIRED = {"mc_cluster": ["name"], "mc_cluster_info": [], "mc_cluster_policy": ["name"],
            "mc_cluster_policy_info": [], "mc_cluster_profiles": [], "mc_cluster_status": ["name"],
            "mc_directory_sync": [],
            "mc_directory_sync_cleanup": [], "mc_registry": ["definitions"], "mc_replica_credentials": ["name"],
            "mc_replica_deregistration": ["name", "replica_connection"],
            "mc_replica_onboarding": ["name", "replica_connection"], "mc_sync_secret": []}
DECLARED = {
    "mc_cluster_info": {"mutually_exclusive": [("name", "label_selectors")]},
    "mc_cluster_policy_info": {"mutually_exclusive": [("name", "label_selectors")]},
    "mc_cluster_policy": {"required_if": [("state", "present", ["spec"])]},
    "mc_registry": {"required_if": [("state", "present", ["cluster_name"])]},
    "mc_replica_credentials": {"required_if": [("verify_revoked", True, ["current_kubeconfig", "replica_connection"],
                                                True)]},
    "mc_sync_secret": {"required_if": [("state", "present", ["kubeconfig_content"])]},
}
# (module, arguments breaking one declared constraint, the error)
REFUSED_COMBINATIONS = [
    ("mc_cluster_info", {"name": "east", "label_selectors": ["stage=production"]},
     "parameters are mutually exclusive: name|label_selectors"),
    ("mc_cluster_policy_info", {"name": "aws-admins", "label_selectors": ["team=platform"]},
     "parameters are mutually exclusive: name|label_selectors"),
    ("mc_cluster_policy", {"name": "aws-admins"}, "state is present but all of the following are missing: spec"),
    ("mc_registry", {"definitions": []}, "state is present but all of the following are missing: cluster_name"),
    ("mc_replica_credentials", {"name": "east", "verify_revoked": True},
     "verify_revoked is True but any of the following are missing: current_kubeconfig, replica_connection"),
    ("mc_sync_secret", {}, "state is present but all of the following are missing: kubeconfig_content"),
]
# a value each type refuses (str, path and raw take anything)
WRONG = {"int": "twenty", "bool": "maybe", "dict": ["not", "a", "mapping"], "list": {"not": "a list"}}
# what a value written as a Jinja expression in an example stands for: the module sees its result
RENDERED = {"str": "rendered", "raw": "rendered", "path": "/rendered", "int": 1, "bool": True, "dict": {}, "list": []}


class _Declared(Exception):
    pass


_CACHE = {}


def declared(module_name):
    """{argument_spec, and the other keyword arguments} main() gives MulticlusterModule, caught before anything
    else runs."""
    if module_name not in _CACHE:
        module = _source(module_name)
        found = {}

        def init(self, **kwargs):
            found.update(kwargs)
            raise _Declared()
        # the class itself, not the module's name for it: run_info (k8s/module.py) makes the _info modules' one
        real, MulticlusterModule.__init__ = MulticlusterModule.__init__, init
        try:
            with pytest.raises(_Declared):
                module.main()
        finally:
            MulticlusterModule.__init__ = real
        _CACHE[module_name] = found
    return _CACHE[module_name]


def validate(module_name, params):
    kwargs = declared(module_name)
    validator = ArgumentSpecValidator(kwargs["argument_spec"],
                                      **dict((k, v) for k, v in kwargs.items() if k in CONSTRAINTS))
    return validator.validate(params)


def _source(module_name):
    return importlib.import_module("ansible_collections.coreos.multicluster.plugins.modules." + module_name)


def documented_options(module_name):
    return yaml.safe_load(_source(module_name).DOCUMENTATION)["options"]


@functools.lru_cache(maxsize=None)
def example_tasks():
    """(the module whose EXAMPLES hold it, task number, module it calls, its arguments) of every task calling a
    module of this collection."""
    found = []
    for module_name in MODULES:
        for number, task in enumerate(yaml.safe_load(_source(module_name).EXAMPLES)):
            for key, args in task.items():
                if key.startswith(PREFIX):
                    found.append((module_name, number, key[len(PREFIX):], args or {}))
    return tuple(found)


def rendered(module_name, args):
    """*args* with each value written as a Jinja expression replaced by a value of the option's type."""
    spec = declared(module_name)["argument_spec"]
    return dict((key, RENDERED[spec.get(key, {}).get("type", "str")] if isinstance(value, str) and "{{" in value
                 else value) for key, value in args.items())


@pytest.fixture(autouse=True)
def no_connection_environment(monkeypatch):
    """The K8S_AUTH_* variables would fill connection options; none of these tests wants them."""
    for name in [n for n in os.environ if n.startswith("K8S_AUTH_")]:
        monkeypatch.delenv(name)


# --- the examples --------------------------------------------------------------------------------------------

def test_every_module_has_examples_of_its_own_and_they_use_its_full_name():
    tasks = example_tasks()
    assert sorted(set(own for own, dummy, called, dummy_args in tasks if own == called)) == MODULES
    for module_name in MODULES:
        for task in yaml.safe_load(_source(module_name).EXAMPLES):
            assert not [key for key in task if key.startswith("mc_")], (module_name, task.get("name"))


@pytest.mark.parametrize("own, number, called, args", example_tasks(),
                         ids=["%s-%d-%s" % (own, number, called) for own, number, called, dummy in example_tasks()])
def test_each_example_passes_the_argument_spec(own, number, called, args):
    assert called in MODULES, "EXAMPLES of %s call %s, which is not a module of the collection" % (own, called)
    result = validate(called, rendered(called, args))
    assert result.error_messages == []
    assert set(args) <= set(result.validated_parameters)


# --- what each module declares ------------------------------------------------------------------------------------

@pytest.mark.parametrize("module_name", MODULES)
def test_the_required_options_are_the_documented_ones(module_name):
    spec = declared(module_name)["argument_spec"]
    required = sorted(name for name, option in spec.items() if option.get("required"))
    assert required == REQUIRED[module_name]
    assert sorted(name for name, option in documented_options(module_name).items()
                  if option.get("required")) == required


@pytest.mark.parametrize("module_name", MODULES)
def test_main_declares_the_constraints_this_file_expects(module_name):
    kwargs = declared(module_name)
    assert dict((k, v) for k, v in kwargs.items() if k in CONSTRAINTS) == DECLARED.get(module_name, {})
    assert kwargs["supports_check_mode"] is True


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_takes_the_connection_options_and_hides_the_token(module_name):
    spec = declared(module_name)["argument_spec"]
    assert dict((name, spec[name]) for name in CONNECTION_ARG_SPEC) == CONNECTION_ARG_SPEC
    result = validate(module_name, dict(_minimal(module_name), api_key="sha256-looking-but-secret-token"))
    assert "sha256-looking-but-secret-token" in result._no_log_values


# --- what each module refuses, naming the option ---------------------------------------------------------------------

def _minimal(module_name):
    """Arguments that pass: the first example of the module that does (with its expressions rendered)."""
    return copy.deepcopy(_first_passing(module_name))


@functools.lru_cache(maxsize=None)
def _first_passing(module_name):
    for dummy_own, dummy, called, args in example_tasks():
        if called == module_name and not validate(called, rendered(called, args)).error_messages:
            return rendered(called, args)
    raise AssertionError("no example of %s passes" % module_name)


@pytest.mark.parametrize("module_name, option", [(m, o) for m in MODULES for o in REQUIRED[m]])
def test_a_missing_required_option_is_named(module_name, option):
    args = dict(_minimal(module_name))
    args.pop(option, None)
    assert "missing required arguments: %s" % option in validate(module_name, args).error_messages


def _typed_options():
    cases = []
    for module_name in MODULES:
        for name, option in sorted(declared(module_name)["argument_spec"].items()):
            kind = option.get("type", "str")
            if kind in WRONG:
                cases.append((module_name, name, kind))
            elif option.get("choices"):
                cases.append((module_name, name, "choices"))
    return cases


@pytest.mark.parametrize("module_name, option, kind", _typed_options())
def test_a_wrong_type_or_a_value_outside_the_choices_is_refused_naming_the_option(module_name, option, kind):
    value = "no-such-choice" if kind == "choices" else WRONG[kind]
    errors = validate(module_name, dict(_minimal(module_name), **{option: value})).error_messages
    if kind == "choices":
        assert errors == ["value of %s must be one of: %s, got: no-such-choice" % (
            option, ", ".join(declared(module_name)["argument_spec"][option]["choices"]))]
    else:  # (a dict of sub-options adds more errors of its own, none naming another option)
        assert [e for e in errors if e.startswith("argument '%s' is of type " % option)
                and "unable to convert to %s" % kind in e]
        spec = declared(module_name)["argument_spec"]
        assert [name for name in spec if any("'%s'" % name in e for e in errors)] == [option]


@pytest.mark.parametrize("module_name, args, error", REFUSED_COMBINATIONS,
                         ids=[m + "-" + e.split(":")[0].replace(" ", "_") for m, dummy, e in REFUSED_COMBINATIONS])
def test_a_combination_the_module_declares_wrong_is_refused(module_name, args, error):
    assert validate(module_name, args).error_messages == [error]


@pytest.mark.parametrize("module_name", MODULES)
def test_an_unknown_option_is_refused_by_name(module_name):
    errors = validate(module_name, dict(_minimal(module_name), bogus_option=1)).error_messages
    assert len(errors) == 1 and errors[0].startswith("bogus_option. Supported parameters include: ")


@pytest.mark.parametrize("module_name, option", [
    (m, name) for m in MODULES for name, spec in sorted(declared(m)["argument_spec"].items()) if spec.get("options")])
def test_a_second_clusters_connection_takes_connection_options_only(module_name, option):
    args = dict(_minimal(module_name), **{option: {"kubeconfig": "/etc/fleet/x.kubeconfig", "verify_ssl": False}})
    result = validate(module_name, args)
    assert result.error_messages == []
    assert result.validated_parameters[option]["validate_certs"] is False  # the alias, as at the top level
    args[option] = {"kubeconfig": "/k", "label_selectors": ["x"]}
    errors = validate(module_name, args).error_messages
    assert len(errors) == 1 and errors[0].startswith("%s.label_selectors. Supported parameters include: " % option)
