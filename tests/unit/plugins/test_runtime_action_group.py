"""meta/runtime.yml's action group `mc` names every module of plugins/modules/, so that
`module_defaults: {group/coreos.multicluster.mc: ...}` reaches each of them (the next module too)."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _modules():
    folder = os.path.join(ROOT, "plugins", "modules")
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))


def _group():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["action_groups"]["mc"]


def test_the_group_names_every_module_once_and_nothing_else():
    modules, group = _modules(), _group()
    assert "mc_replica_onboarding" in modules  # the module the roles use most, left out once
    missing = sorted(set(modules) - set(group))
    unknown = sorted(set(group) - set(modules))
    assert not missing, "modules not in meta/runtime.yml's action group mc: %s" % missing
    assert not unknown, "action group mc names what plugins/modules/ does not hold: %s" % unknown
    assert len(group) == len(set(group)), "action group mc names a module twice: %s" % group


def test_every_module_has_its_action_plugin():
    # the action plugin of the same name runs the module in-process; the group reaches both by the name
    folder = os.path.join(ROOT, "plugins", "action")
    actions = sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))
    assert actions == _modules()
