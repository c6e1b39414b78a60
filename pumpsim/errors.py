"""The one error type users see for bad input: file, key path, line, message, on one line."""

from __future__ import annotations


def format_path(path: tuple[object, ...]) -> str:
    """Render a key path as ``events[3].volume_ml``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


class ScenarioError(Exception):
    """Invalid scenario input. ``str()`` is the one-line message the CLI prints."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: tuple[object, ...] = (),
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = tuple(path)
        self.line = line

    def located(self, file: str | None, line: int | None) -> ScenarioError:
        """A copy with the file and line filled in where they were missing."""
        return ScenarioError(
            self.message,
            file=self.file or file,
            path=self.path,
            line=self.line if self.line is not None else line,
        )

    def lines(self) -> list[str]:
        """The lines the CLI prints for this error: one (``ScenarioErrors`` has several)."""
        return [str(self)]

    def __str__(self) -> str:
        where = self.file or "pumpsim"  # no file: a command-line option or a built scenario
        if self.line is not None:
            where += f":{self.line}"
        key = f" {format_path(self.path)}:" if self.path else ""
        text = " ".join(self.message.split())  # always one line
        return f"{where}:{key} {text}"


class ScenarioErrors(ScenarioError):
    """Several errors of one input file, reported together (a clinic log's bad rows, contract
    section 11): one line each in file order, up to ``MAX_SHOWN``, then ``... and N more``.

    Its own file, line and message are the first error's, so code that reads one error still
    points at the first problem; ``str()`` is every line, joined by newlines.
    """

    MAX_SHOWN = 50

    def __init__(self, errors: list[ScenarioError], *, complete: bool = True) -> None:
        if not errors:
            raise ValueError("ScenarioErrors needs at least one error")
        first = errors[0]
        super().__init__(first.message, file=first.file, path=first.path, line=first.line)
        self.errors = list(errors)
        self.complete = complete  # False: the search stopped past MAX_SHOWN, more may follow

    def lines(self) -> list[str]:
        """One line per error (at most ``MAX_SHOWN``), then ``... and N more``."""
        shown = [line for e in self.errors[: self.MAX_SHOWN] for line in e.lines()]
        more = len(self.errors) - self.MAX_SHOWN
        if more > 0:
            shown.append(f"... and {more} more" if self.complete else "... and more")
        return shown

    def located(self, file: str | None, line: int | None) -> ScenarioError:
        """Each error keeps its own place: the file and line are filled in where missing."""
        return ScenarioErrors([e.located(file, line) for e in self.errors], complete=self.complete)

    def __str__(self) -> str:
        return "\n".join(self.lines())


def raise_all(errors: list[ScenarioError]) -> None:
    """Raise nothing, the one error, or all of them as ``ScenarioErrors``."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ScenarioErrors(errors)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by the CLI's handler so that cleanup runs as for
    Ctrl-C (a BaseException, like KeyboardInterrupt: ``except Exception`` lets it through)."""


class OutputError(OSError):
    """An output that cannot be written. ``str()`` is the one line the CLI prints.

    ``exit_code`` is 2 for an unusable path (a missing folder, a directory, a socket) and 3
    for a failure while writing (a full disk, an I/O error). An OSError, so callers that
    caught the OSError of a plain write still catch it (``strerror`` is the message).
    """

    def __init__(self, path: str, message: str, *, exit_code: int = 2) -> None:
        super().__init__(0, message)
        self.path = path
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.path}: {' '.join(self.message.split())}"
