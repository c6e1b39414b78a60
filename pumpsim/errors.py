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

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {format_path(self.path)}:" if self.path else ""
        text = " ".join(self.message.split())  # always one line
        return f"{where}:{key} {text}"
