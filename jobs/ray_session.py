"""Joining Ray: a cluster when an address is given (`--address` or RAY_ADDRESS), else the
embedded default, a local Ray whose listeners all stay on 127.0.0.1."""
from __future__ import annotations

import os


def init_ray(address: str | None):
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:  # the embedded default: a local Ray with every listener on 127.0.0.1
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if not ray.is_initialized():
        # Workers read object-store settings and credentials from their own environment
        # (inherited here, a node's environment on a cluster): nothing secret goes via Ray.
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.verbose_stats_logs = False
    return ray
