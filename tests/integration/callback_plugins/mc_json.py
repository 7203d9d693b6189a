# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stdout callback for the test suite: the whole run as one JSON document.

ansible-core 2.19 no longer ships a JSON stdout callback (it moved to
ansible.posix, a Galaxy collection this project does not depend on), so the
tests bring this one. Its output has the shape the old one had:
{"plays": [{"play": {...}, "tasks": [{"task": {"name"}, "hosts": {host: result}}]}], "stats": {...}}.
Results pass through the same censoring (no_log) as on any other callback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mc_json
type: stdout
short_description: The run as one JSON document (test suite only)
description:
  - Prints the plays, tasks and per-host results of a run, then the stats, as one JSON document.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "mc_json"

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self.results = []

    def v2_playbook_on_play_start(self, play):
        self.results.append({"play": {"name": play.get_name()}, "tasks": []})

    def _task_start(self, task):
        self.results[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    def _record(self, result, **extra):
        host = result._host.get_name()  # pylint: disable=protected-access
        data = self._convert_result(result)
        data.update(extra)
        self.results[-1]["tasks"][-1]["hosts"][host] = data

    def _convert_result(self, result):
        data = dict(result._result)  # pylint: disable=protected-access
        self._clean_results(data, result._task.action)  # pylint: disable=protected-access
        return json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.results, "stats": summary}, indent=2, sort_keys=True))
