"""Writing outputs safely: whole or not at all, to the place the user meant.

- A regular file (new or existing) is written to a temporary file in the same folder
  (``.pumpsim-<pid>-<random>.tmp``), flushed to disk, then renamed over the target: a reader
  sees the old file or the new one, never a part. A new file gets the permissions the umask
  allows (``0666 & ~umask``); an existing one keeps its own.
- A symbolic link is followed: its target is written (the link stays a link).
- A FIFO or a device is written directly (opening a FIFO waits for its reader); it is never
  replaced by a regular file.
- A missing folder, a directory or a socket is an unusable path (``OutputError``, exit 2);
  a failure while writing (a full disk) is ``OutputError`` with exit 3.
- A temporary file left by a killed run (its process is gone) is removed by the next write to
  that folder; an interrupted write removes its own. Every temporary is registered before it
  exists, so that a signal landing between its creation and the code that would discard it
  still cannot leave it behind: ``discard_live_temporaries`` (the CLI calls it on its way out,
  whatever ended the command) removes what this process still holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat

from pumpsim.errors import OutputError

_TMP_PREFIX = ".pumpsim-"
#: Temporary files created and neither committed nor discarded yet: path -> creating pid (a
#: forked worker inherits the table but must not remove its parent's files). Process-wide, like
#: the files and the signals it guards against.
_LIVE: dict[str, int] = {}
_TMP = re.compile(r"^\.pumpsim-(\d+)-[^/]*\.tmp$")
#: errno values that mean the path itself is unusable (exit 2) rather than the write failing.
_PATH_ERRORS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.ENXIO,
    }
)


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: read it the only portable way, and put it back at once
    os.umask(mask)
    return mask


def _error(path: str, what: str, exc: OSError) -> OutputError:
    code = 2 if exc.errno in _PATH_ERRORS else 3
    return OutputError(path, f"cannot write {what}: {exc.strerror or exc}", exit_code=code)


def check_output_path(path: str, what: str = "the output") -> None:
    """Refuse an unusable output path before any work is done (``OutputError``, exit 2)."""
    if not path:
        raise OutputError(repr(path), f"cannot write {what}: the path is empty")
    try:
        target = os.path.realpath(path)
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _error(path, what, exc) from None
    except ValueError as exc:  # e.g. an embedded NUL character
        raise OutputError(repr(path), f"cannot write {what}: {exc}") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(path, f"cannot write {what}: is a directory")
        if stat.S_ISSOCK(mode):
            raise OutputError(path, f"cannot write {what}: is a socket")
        return
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise OutputError(
            path, f"cannot write {what}: folder {os.path.dirname(path) or '.'} does not exist"
        )


def refuse_overwriting_inputs(outputs: dict[str, str | None], inputs: list[str]) -> None:
    """Refuse (``OutputError``, exit 2) an output that is one of the command's inputs (the
    scenario, its clinic log) or another output: a one-character slip must not replace the
    record being replayed. ``outputs`` maps what each output is to its path (None: not asked)."""
    seen: dict[str, str] = {}

    def key(path: str) -> str | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None if not os.path.lexists(path) else os.path.realpath(path)
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            return None  # a device or a pipe: /dev/stdout twice is fine
        return f"{st.st_dev}:{st.st_ino}"

    for path in inputs:
        k = key(path)
        if k is not None:
            seen[k] = f"the input {path}"
    for what, path in outputs.items():
        if not path or path == "-":
            continue
        k = key(path) or os.path.realpath(path)
        if k in seen:
            raise OutputError(path, f"cannot write {what}: it is {seen[k]}; choose another path")
        seen[k] = what


def remove_stale_temporaries(folder: str) -> list[str]:
    """Remove ``.pumpsim-<pid>-*.tmp`` files in ``folder`` whose process is gone; return them."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TMP.match(name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        full = os.path.join(folder, name)
        try:
            if stat.S_ISREG(os.lstat(full).st_mode):
                os.unlink(full)
                removed.append(full)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's (or unknowable): leave it alone
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_output(path: str, data: str | bytes, *, what: str = "the output") -> None:
    """Write ``data`` (text is UTF-8) to ``path`` whole or not at all. Raises OutputError.

    Text that holds an undecodable file name (a lone surrogate) is written with it escaped
    (``\\udce9``) rather than failing.
    """
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    check_output_path(path, what)
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _error(path, what, exc) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_special(path, target, payload, what)
        return
    fd, tmp = open_temporary(path, what, st)
    try:
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        commit_temporary(tmp, path, what)
    except BaseException as exc:
        discard_temporary(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _error(path, what, exc) from None
        raise


def open_temporary(
    path: str, what: str = "the output", st: os.stat_result | None = None
) -> tuple[int, str]:
    """A new temporary file beside the (real) target of ``path``: ``(fd, name)``.

    It already has the permissions the result will have (an existing file's own, else what the
    umask allows); stale temporaries of dead runs in that folder are removed first. For writers
    that stream (a table written batch by batch); ``write_output`` is built on it. Finish with
    ``commit_temporary``, or ``discard_temporary`` on failure.
    """
    target = os.path.realpath(path)
    if st is None:
        with contextlib.suppress(OSError):
            st = os.stat(target)
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    folder = os.path.dirname(target)
    remove_stale_temporaries(folder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(folder, f"{_TMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}.tmp")
        _LIVE[tmp] = os.getpid()  # before it exists: no moment where it exists unregistered
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            _LIVE.pop(tmp, None)
            continue
        except OSError as exc:
            _LIVE.pop(tmp, None)
            raise _error(path, what, exc) from None
        break
    try:
        os.fchmod(fd, mode)
    except OSError as exc:
        os.close(fd)
        discard_temporary(tmp)
        raise _error(path, what, exc) from None
    return fd, tmp


def commit_temporary(tmp: str, path: str, what: str = "the output") -> None:
    """The finished temporary file becomes the (real) target of ``path`` in one rename."""
    try:
        os.replace(tmp, os.path.realpath(path))
    except OSError as exc:
        raise _error(path, what, exc) from None
    _LIVE.pop(tmp, None)


def discard_temporary(tmp: str) -> None:
    """Remove a temporary file after a failure (nothing to do when it is already gone)."""
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    _LIVE.pop(tmp, None)


def discard_live_temporaries() -> list[str]:
    """Remove every temporary file this process created and has not committed or discarded
    (a write cut short by a signal at any moment); return their names."""
    removed = []
    for tmp, pid in list(_LIVE.items()):
        if pid != os.getpid():
            continue
        with contextlib.suppress(OSError):
            os.unlink(tmp)
            removed.append(tmp)
        _LIVE.pop(tmp, None)
    return removed


def _write_special(path: str, target: str, payload: bytes, what: str) -> None:
    """A FIFO or a device: write straight into it (never replace it)."""
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _error(path, what, exc) from None
    try:
        _write_all(fd, payload)
    except OSError as exc:
        raise OutputError(
            path, f"cannot write {what}: {exc.strerror or exc}", exit_code=3
        ) from None
    finally:
        os.close(fd)
