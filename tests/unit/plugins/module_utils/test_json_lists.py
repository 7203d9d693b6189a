"""k8s/json_lists.py: a list answer decoded one item at a time."""

import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.json_lists import NotAList, decode_list


ANSWER = {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterList",
          "items": [{"metadata": {"name": "a", "managedFields": [{"manager": "x"}]}, "spec": {"items": [1, 2]}},
                    {"metadata": {"name": "b"}, "spec": {}}],
          "metadata": {"resourceVersion": "12", "continue": ""}}


@pytest.mark.parametrize("text", [json.dumps(ANSWER), json.dumps(ANSWER, indent=2), json.dumps(ANSWER, sort_keys=True),
                                  json.dumps(dict(reversed(list(ANSWER.items()))))])
def test_it_decodes_what_json_does_and_hands_over_each_item_alone(text):
    seen = []

    def item(obj):
        seen.append(obj["metadata"]["name"])
        return obj["metadata"]["name"]
    found = decode_list(text, item)
    assert found == dict(json.loads(text), items=["a", "b"]) and seen == ["a", "b"]
    assert decode_list(text) == json.loads(text)


def test_the_object_hook_sees_every_object_and_nested_items_are_not_the_lists():
    hooked = decode_list(json.dumps(ANSWER), lambda obj: obj, object_hook=lambda obj: dict(obj, seen=True))
    assert hooked["items"][0]["spec"] == {"items": [1, 2], "seen": True} and hooked["metadata"]["seen"]


@pytest.mark.parametrize("text", ['{"items": []}', '{}', ' { "items" : [ ] , "kind" : "List" } '])
def test_empty_lists_and_objects(text):
    assert decode_list(text, lambda obj: 1 / 0) == json.loads(text)


@pytest.mark.parametrize("text", ["[]", '"text"', '{"items": [1 2]}', '{"items": [1,]}', '{"a": 1} trailing',
                                  '{"a": 1', '{1: 2}', '', '{"items": [{"a": }]}'])
def test_what_is_not_a_json_object_is_a_value_error(text):
    with pytest.raises(ValueError):
        decode_list(text, lambda obj: obj)


def test_not_a_list_is_a_value_error_as_json_errors_are():
    assert issubclass(NotAList, ValueError)
