"""Where batches run: in this process, in a local process pool, or on a Dask cluster.

Each executor offers ``submit(fn, *args) -> future``, ``wait_first(futures) -> done`` and
``close(cancel)``. The results do not depend on the executor: a batch is a pure function of
the sweep and its index.

Stopping is the main process's job, and it is quick: ``close(cancel=True)`` ends the workers at
once (the batches they were running are simply computed again on the next run), so Ctrl-C or
SIGTERM, to the process or to its whole group, ends the sweep within seconds with one line.
Workers ignore Ctrl-C, die quietly on SIGTERM (never with the CLI's handler and a traceback),
and leave by themselves within a second when the main process is gone (even after SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from pumpsim.studies.sweep.dask_endpoint import ExecutorError, check_scheduler

__all__ = [
    "DaskExecutor",
    "ExecutorError",
    "LocalPoolExecutor",
    "SerialExecutor",
    "default_workers",
]

#: How often a worker looks whether the main process is still there (seconds).
PARENT_CHECK_S = 0.25
#: How long ``close(cancel=True)`` waits for a terminated worker before killing it (seconds).
TERMINATE_GRACE_S = 1.0


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _watch_parent(parent_pid: int) -> None:
    """Leave as soon as the main process is gone (its SIGKILL gives no chance to stop us)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _worker_start(parent_pid: int) -> None:
    """Set up a pool worker: signals left to the main process, and an eye on it."""
    # Ctrl-C reaches the whole process group: the main process stops the sweep and ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the CLI's SIGTERM handler, which raises (and printed a
    # traceback per worker); the default handler ends the process quietly.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


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
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: stop the sweep, not the batch
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
        self._pool = ProcessPoolExecutor(
            max_workers=workers, initializer=_worker_start, initargs=(os.getpid(),)
        )

    def submit(self, fn: Any, *args: Any) -> Future:
        """Queue one batch."""
        return self._pool.submit(fn, *args)

    def wait_first(self, futures: Any) -> set[Any]:
        """Block until at least one batch is finished."""
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel``, drop queued batches and end running ones now."""
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # The pool has no public way to end running work before Python 3.14
        # (``terminate_workers``); its process table has been ``_processes`` since 3.2.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(TERMINATE_GRACE_S)
        # The pool's manager thread sees its workers gone and closes its pipes; waiting for it
        # here keeps the interpreter's exit from writing to a pipe it is closing (a traceback).
        if manager is not None:
            manager.join(2 * TERMINATE_GRACE_S)


_DASK_LOG_ENV = "DASK_LOGGING__DISTRIBUTED"
_TRACKER_WARNING = "ignore::UserWarning:multiprocessing.resource_tracker"


@contextlib.contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """Ignore SIGINT while Dask starts the local cluster's processes (quiet ones).

    An ignored signal stays ignored across fork and exec (a handler does not, and a blocked
    mask is undone by multiprocessing's resource tracker), so the cluster's workers never see
    Ctrl-C: no KeyboardInterrupt traceback per worker. The main process gets Ctrl-C back as soon
    as the cluster runs (one pressed during the few seconds of start-up is lost).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The workers read Dask's settings from the environment when they start: only critical
    # lines from them (a task dropped by Ctrl-C logs a warning in each worker, a heartbeat to a
    # scheduler that closed first an error with a traceback). A failing batch still reaches us
    # as its exception, through the client.
    saved = os.environ.get(_DASK_LOG_ENV)
    os.environ[_DASK_LOG_ENV] = "critical"
    # multiprocessing's resource tracker (started now, for the cluster's queues) counts the
    # semaphores a SIGKILLed run leaves and warns about them on our stderr: not news to anyone.
    sys.warnoptions.append(_TRACKER_WARNING)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        with contextlib.suppress(ValueError):
            sys.warnoptions.remove(_TRACKER_WARNING)
        if saved is None:
            os.environ.pop(_DASK_LOG_ENV, None)
        else:
            os.environ[_DASK_LOG_ENV] = saved


def _quiet_dask(level: int) -> None:
    """Dask's own log lines (a worker lost, a connection cut) at ``level`` and above only."""
    import logging

    # distributed's logging config sets tornado.application's own level: named here too
    for name in ("distributed", "tornado", "tornado.application", "asyncio"):
        logging.getLogger(name).setLevel(level)


def _quiet_on_stop(signum: int) -> Any:
    """Make ``signum`` silence Dask's loggers before the stop it means propagates; returns the
    handler it replaces (None: not the main thread, nothing changed).

    Ctrl-C in the middle of a client call lets Dask's event loop log a callback error of its
    own (distributed's ``sync`` cancelling, with a traceback) before ``close(cancel=True)``
    could quiet it: the sweep's one line must stay the only one.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signum)

    def handler(sig: int, frame: Any) -> None:
        import logging

        _quiet_dask(logging.CRITICAL + 1)
        if callable(previous):
            previous(sig, frame)
        elif previous == signal.SIG_DFL and sig == signal.SIGINT:
            raise KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)

    signal.signal(signum, handler)
    return previous


#: Seconds Dask's client may take to connect once the scheduler has answered our probe.
DASK_CONNECT_TIMEOUT_S = 15


class DaskExecutor:
    """Batches on a Dask distributed cluster: ``local`` (a LocalCluster on this machine), a
    scheduler address (``tcp://host:8786``), or a ``dask.distributed.Client`` you made (e.g. on
    a dask-jobqueue SLURM or PBS cluster). Needs the ``dask`` extra.

    An address that is not a Dask scheduler is an ExecutorError within seconds (the address is
    probed first: ``dask_endpoint.check_scheduler``)."""

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
                import logging

                # The cluster is this command's machinery: its warnings (a worker ended by
                # the SIGTERM that ended us) are not the user's business; errors still show.
                _quiet_dask(logging.ERROR)
                with _sigint_ignored_by_children():
                    cluster = LocalCluster(
                        n_workers=workers, threads_per_worker=1, dashboard_address=None
                    )
                    self._own.append(cluster)
                    client = Client(cluster)
            else:
                check_scheduler(target)
                try:
                    client = Client(target, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
                except (OSError, TimeoutError, ValueError, MemoryError) as exc:
                    raise ExecutorError(f"--dask {target}: cannot connect: {exc}") from None
            self._own.insert(0, client)
        else:
            client = target
        self.client = client
        self.workers = max(1, sum(client.nthreads().values()) if client.nthreads() else workers)
        self._handlers = {sig: _quiet_on_stop(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def submit(self, fn: Any, *args: Any) -> Any:
        """Send one batch to the cluster."""
        return self.client.submit(fn, *args, pure=False)

    def wait_first(self, futures: Any) -> set[Any]:
        """Block until at least one batch is finished."""
        from dask.distributed import wait as dask_wait

        done, _ = dask_wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def close(self, cancel: bool = False) -> None:
        """Close the client and cluster this executor started (not a client you passed).

        With ``cancel``, Dask's own messages about the work it drops (workers closing with a
        task running, connections cut) are silenced: the sweep prints its one line itself.
        """
        if cancel:
            import logging

            _quiet_dask(logging.CRITICAL + 1)
        for thing in self._own:
            with contextlib.suppress(Exception):
                thing.close()
        for sig, previous in self._handlers.items():
            if previous is not None:
                signal.signal(sig, previous)
        self._handlers = {}
