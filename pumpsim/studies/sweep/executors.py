"""Where batches run: in this process, in a local process pool, or on a Dask cluster.

Each executor offers ``submit(fn, *args) -> future``, ``wait_first(futures) -> done`` and
``close(cancel)``. The results do not depend on the executor: a batch is a pure function of
the sweep and its index.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _ignore_sigint() -> None:
    # Ctrl-C goes to the whole process group: the main process stops the sweep cleanly and
    # the workers finish or drop their batch without printing tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ExecutorError(RuntimeError):
    """An executor that cannot be had: the Dask extra missing, a scheduler out of reach."""


class SerialExecutor:
    """Runs each batch at once in this process (one worker: no process start-up cost)."""

    name = "serial"
    workers = 1

    def submit(self, fn: Any, *args: Any) -> Future:
        """Run now; return a finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future

    def wait_first(self, futures: Any) -> set[Any]:
        """Every submitted future is already done."""
        return set(futures)

    def close(self, cancel: bool = False) -> None:
        """Nothing to release."""


class LocalPoolExecutor:
    """A ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)

    def submit(self, fn: Any, *args: Any) -> Future:
        """Queue one batch."""
        return self._pool.submit(fn, *args)

    def wait_first(self, futures: Any) -> set[Any]:
        """Block until at least one batch is finished."""
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down (dropping queued batches when ``cancel``)."""
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskExecutor:
    """Batches on a Dask distributed cluster: ``local`` (a LocalCluster on this machine), a
    scheduler address (``tcp://host:8786``), or a ``dask.distributed.Client`` you made (e.g. on
    a dask-jobqueue SLURM or PBS cluster). Needs the ``dask`` extra."""

    name = "dask"

    def __init__(self, target: Any, workers: int) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError(
                "--dask needs Dask distributed: pip install 'pumpsim[dask]'"
            ) from None
        self._own: list[Any] = []
        if isinstance(target, str):
            if target == "local":
                cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, dashboard_address=None
                )
                self._own.append(cluster)
                client = Client(cluster)
            else:
                try:
                    client = Client(target, timeout="20s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise ExecutorError(f"--dask {target}: cannot connect: {exc}") from None
            self._own.insert(0, client)
        else:
            client = target
        self.client = client
        self.workers = max(1, sum(client.nthreads().values()) if client.nthreads() else workers)

    def submit(self, fn: Any, *args: Any) -> Any:
        """Send one batch to the cluster."""
        return self.client.submit(fn, *args, pure=False)

    def wait_first(self, futures: Any) -> set[Any]:
        """Block until at least one batch is finished."""
        from dask.distributed import wait as dask_wait

        done, _ = dask_wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self, cancel: bool = False) -> None:
        """Close the client and cluster this executor started (not a client you passed)."""
        for thing in self._own:
            thing.close()
