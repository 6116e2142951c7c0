"""Separately started `dask scheduler` and `dask worker` processes, as a deployment runs them (not a
LocalCluster), for the distributed jobs' tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, LocalCluster


@contextmanager
def two_workers() -> Iterator[tuple[LocalCluster, Client]]:
    """Two single-threaded worker processes with little memory, as the issue's cluster has."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB", dashboard_address=":0"
        ) as local,
        Client(local) as client,
    ):
        yield local, client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def separate_cluster(workers: int = 2) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded worker processes started from the command line, their
    workers up; yields the scheduler's address and stops both afterwards."""
    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"], **quiet
    )
    worker = subprocess.Popen(
        [dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1", "--memory-limit", "1GiB"]
        + ["--no-dashboard"],
        **quiet,
    )
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(20)
