"""How many CPUs this process may use: its container's CPU limit, not the node's core count.

`os.cpu_count()` is the node's: a pod limited to one CPU on a 64-core node would size its thread pools for
64 and then be throttled by its quota, each CPU-bound task (an argon2 hash) holding its memory the whole
time. The limit is the cgroup's quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`),
rounded up, and never more than the CPUs the process may run on (its affinity).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _quota(root: Path) -> float | None:
    """The CPUs the cgroup's quota allows, or None when it sets none (or cannot be read)."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota.isdigit() and period.isdigit() and int(period) > 0:
            return int(quota) / int(period)
        return None
    quota_v1, period_v1 = _read(root / "cpu" / "cpu.cfs_quota_us"), _read(root / "cpu" / "cpu.cfs_period_us")
    if quota_v1 and period_v1 and quota_v1.isdigit() and period_v1.isdigit() and int(period_v1) > 0:
        return int(quota_v1) / int(period_v1)
    return None


def available_cpus(root: Path = CGROUP) -> int:
    """The CPUs this process may use at once: at least 1."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    quota = _quota(root)
    if quota is not None:
        usable = min(usable, math.ceil(quota))
    return max(1, usable)
