"""Is there a Dask scheduler at ``--dask ADDRESS``? Asked before Dask is, with a deadline.

Dask's own client, pointed at something that is not a scheduler, can wait past its timeout (a
socket that accepts and never answers) or read an HTTP server's first bytes as a message length
and ask for exabytes (MemoryError). A scheduler speaks first: on a new connection it sends its
handshake, a length-prefixed message naming its pickle protocol. So connect, wait a few seconds
for those bytes, check them, and only then hand the address to Dask. Anything else is invalid
input (exit 2) within seconds.
"""

from __future__ import annotations

import contextlib
import socket
import struct

#: Seconds to wait for the TCP connection, then for the scheduler's first message.
CONNECT_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 5.0
#: A scheduler's handshake is a few hundred bytes; a larger length prefix is something else.
MAX_HANDSHAKE_BYTES = 1 << 16
#: Dask's default scheduler port, used when the address gives none.
DEFAULT_PORT = 8786
_LENGTH = struct.Struct("Q")  # Dask's frame-length prefix: native unsigned 64-bit


class ExecutorError(RuntimeError):
    """An executor that cannot be had: the Dask extra missing, a scheduler out of reach."""


def host_and_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``tcp://`` (or scheme-less) address; None for another scheme.

    Raises ExecutorError for an address that cannot be read.
    """
    scheme, _, location = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return None  # tls://, ucx://, inproc:// ... : left to Dask (and its timeout)
    location = location.split("/", 1)[0]
    if location.startswith("["):  # [IPv6]:port
        host, _, rest = location[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif location.count(":") == 1:
        host, port_text = location.split(":")
    else:
        host, port_text = location, ""
    if not host:
        raise ExecutorError(f"--dask {address}: no host in the address")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ExecutorError(f"--dask {address}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ExecutorError(f"--dask {address}: port {port} is out of range")
    return host, port


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def check_scheduler(
    address: str,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    answer_timeout_s: float = ANSWER_TIMEOUT_S,
) -> None:
    """Raise ExecutorError unless a Dask scheduler answers at ``address`` within the timeouts."""
    where = host_and_port(address)
    if where is None:
        return
    not_dask = f"--dask {address}: not a Dask scheduler"
    try:
        sock = socket.create_connection(where, timeout=connect_timeout_s)
    except TimeoutError:
        raise ExecutorError(
            f"--dask {address}: cannot connect: no answer within {connect_timeout_s:g} s"
        ) from None
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ExecutorError(f"--dask {address}: cannot connect: {reason}") from None
    with contextlib.closing(sock):
        try:
            sock.settimeout(answer_timeout_s)
            prefix = _read_exactly(sock, _LENGTH.size)
            if len(prefix) < _LENGTH.size:
                raise ExecutorError(f"{not_dask} (it closed the connection without a word)")
            (length,) = _LENGTH.unpack(prefix)
            if not 0 < length <= MAX_HANDSHAKE_BYTES:
                raise ExecutorError(f"{not_dask} (its first bytes are not a Dask message)")
            message = _read_exactly(sock, length)
        except TimeoutError:
            raise ExecutorError(
                f"{not_dask} (connected, but nothing came back within {answer_timeout_s:g} s; "
                "a web server or another service?)"
            ) from None
        except OSError as exc:
            raise ExecutorError(f"--dask {address}: {exc.strerror or exc}") from None
    if b"pickle-protocol" not in message:
        raise ExecutorError(f"{not_dask} (its first message is not a Dask handshake)")
