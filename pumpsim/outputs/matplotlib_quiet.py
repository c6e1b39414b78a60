"""matplotlib kept off the user's terminal: its warnings are not the user's business.

matplotlib warns on stderr when a glyph is missing from its font (a scenario description in
another script, an emoji) and, on every import, when its configuration folder cannot be written
(an unwritable HOME: it falls back to a temporary folder and says so). The figure is still
right (SVG text is drawn by the browser's fonts), so neither message may reach stderr, where a
command's only line is its result or its one-line error.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


def quiet_logger() -> None:
    """Give matplotlib's logger a handler that drops its records.

    Python prints a record that finds no handler on stderr (its last-resort handler); with
    this one it does not. Records still propagate to any handler an application installs.
    Call it before matplotlib is first imported: the config-folder warning comes at import.
    """
    logger = logging.getLogger("matplotlib")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Draw without matplotlib's missing-glyph warnings (and with its logger quiet)."""
    quiet_logger()
    with warnings.catch_warnings():
        for message in (r"Glyph \d+ .*missing from", r".*missing from (the )?(current )?font"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield
