"""Bulk locating from a laptop to a cluster, on one code path.

The same per-part task runs in this process (a small input: starting workers would cost more than it
saves), on a ``LocalCluster`` sized to the machine (a large input and no scheduler named), or on the Dask
scheduler given (``--scheduler`` or ``DASK_SCHEDULER_ADDRESS``), with ``core.dask_jobs``'s client. The
hierarchy is sent once to every worker as WKB and each worker keeps its locator (``geo.locate_parts``); tasks read and write their own
part, so only counts come back to the client. A task whose worker dies is rescheduled by Dask; one that
raises is tried again up to ``locate_task_retries`` times, which is safe since a part's output is
written under a temporary name and renamed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.dask_jobs import dask_client, in_order
from geo.locate import Hierarchy
from geo.locate_parts import HierarchyWire
from geo.settings import get_settings

if TYPE_CHECKING:
    from distributed import Client

# A part's task: (part, hierarchy wire, **options) → {"rows": n, status: count, ...}.
PartTask = Callable[..., dict[str, int]]


def use_cluster(points: int, scheduler: str | None) -> bool:
    """Whether a job of ``points`` goes to Dask: always with a scheduler named, else when it is large."""
    return bool(scheduler) or points >= get_settings().locate_cluster_min_points


def run_parts(
    task: PartTask,
    parts: Sequence[Any],
    wire: HierarchyWire,
    *,
    weights: Sequence[int],
    client: Client | None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> list[dict[str, int]]:
    """Each part's result, in the parts' order; ``progress`` hears each part's weight as it finishes."""
    if client is None:
        results = []
        for part, weight in zip(parts, weights, strict=True):
            results.append(task(part, wire, **options))
            if progress:
                progress(weight)
        return results
    shared = client.scatter(wire, broadcast=True, hash=False)
    job = uuid.uuid4().hex[:8]
    retries = get_settings().locate_task_retries
    futures = [
        client.submit(task, part, shared, key=f"locate-{job}-{i}", retries=retries, pure=False, **options)
        for i, part in enumerate(parts)
    ]
    return in_order(futures, weights, progress)


def locate_parts(
    hierarchy: Hierarchy,
    task: PartTask,
    parts: Sequence[Any],
    *,
    weights: Sequence[int],
    scheduler: str | None,
    announce: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> Counter[str]:
    """Locate every part (here or on Dask, as ``use_cluster`` decides) and count the statuses."""
    wire = HierarchyWire.from_hierarchy(hierarchy)
    options.setdefault("segment_search_m", get_settings().segment_search_m)
    if use_cluster(sum(weights), scheduler):
        with dask_client(scheduler, announce) as client:
            results = run_parts(
                task, parts, wire, weights=weights, client=client, progress=progress, **options
            )
    else:
        results = run_parts(task, parts, wire, weights=weights, client=None, progress=progress, **options)
    total: Counter[str] = Counter()
    for result in results:
        total.update(result)
    return total
