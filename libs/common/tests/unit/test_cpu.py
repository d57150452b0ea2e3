"""How many CPUs this process may use: the container's CPU limit, not the node's core count.

A pod limited to one CPU on a 64-core node used to run 64 argon2 hashes at once (19 MiB each): ten large
logins then took the pod's memory and its CPU quota, and everyone's sign-in waited.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from motcua.common.cpu import available_cpus

NODE = len(os.sched_getaffinity(0))


def cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n", encoding="ascii")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "100000 100000"}, 1),  # cgroup v2: 1 CPU
        ({"cpu.max": "250000 100000"}, 3),  # 2.5 CPUs: the half is a thread of its own
        ({"cpu.max": "20000 100000"}, 1),  # 200m: never fewer than one
        ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2),  # cgroup v1
    ],
)
def test_the_containers_cpu_limit_bounds_the_count(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    assert available_cpus(cgroup(tmp_path, files)) == min(expected, NODE)


@pytest.mark.parametrize(
    "files",
    [
        {"cpu.max": "max 100000"},  # v2 without a limit
        {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},  # v1 without a limit
        {"cpu.max": "garbled"},
        {},  # no cgroup files at all (not Linux, or not mounted)
    ],
)
def test_without_a_limit_the_cpus_this_process_may_run_on_count(tmp_path: Path, files: dict[str, str]) -> None:
    assert available_cpus(cgroup(tmp_path, files)) == NODE
