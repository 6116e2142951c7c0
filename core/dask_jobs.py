"""One way to get a Dask client for every distributed job (bulk locate, grid drawing), and to hear its
tasks finish.

A named scheduler (``--scheduler`` or ``DASK_SCHEDULER_ADDRESS``) is used as it is; without one, a
``LocalCluster`` of one single-threaded worker process per core is started and stopped around the job (the
kernels are numpy and GEOS: processes, not threads, use the cores). The scheduler, the workers and the
dashboard are announced, so a long job can be watched.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from core.errors import Unavailable
from geo.settings import get_settings

if TYPE_CHECKING:
    from distributed import Client, Future


@contextmanager
def dask_client(scheduler: str | None, announce: Callable[[str], None]) -> Iterator[Client]:
    """A client of the named scheduler, or of a ``LocalCluster`` sized to the machine, closed afterwards."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{get_settings().dask_connect_timeout_s}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise Unavailable(
                f"连不上 Dask 调度器 cannot reach the Dask scheduler at {scheduler!r}: {exc}",
                title="调度器不可用 Scheduler unavailable",
            ) from None
    else:
        cluster = LocalCluster(
            n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=":8787"
        )
        client = Client(cluster)
    try:
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        announce(
            f"Dask 调度器 scheduler {client.scheduler.address} · 工作进程 workers {workers} · "
            f"仪表盘 dashboard {client.dashboard_link}"
        )
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def in_order(
    futures: Sequence[Future], weights: Sequence[int], progress: Callable[[int], None] | None
) -> list[Any]:
    """The futures' results in their order, waiting for each as it finishes; ``progress`` hears each one's
    weight then (a task whose worker died is rescheduled by Dask and heard once, when it ends)."""
    from distributed import as_completed

    order = {f.key: i for i, f in enumerate(futures)}
    found: dict[int, Any] = {}
    for future in as_completed(futures):
        i = order[future.key]
        found[i] = future.result()
        if progress:
            progress(weights[i])
    return [found[i] for i in range(len(futures))]
