"""Text from a scenario, a profile or a file name, made safe to show anywhere.

A description may hold terminal escapes, bidirectional overrides or other control characters:
shown raw they clear a terminal, reorder a line, or make an SVG file that is not XML. ``visible``
writes each as its escape (``\\x1b``) instead: the terminal, the report and the figure show text.
"""

from __future__ import annotations

import re

#: Characters that steer a terminal rather than show: C0 controls but tab and newline, DEL, C1
#: controls (``\x9b`` is a one-byte CSI on some terminals) and the bidirectional overrides that
#: make text read in another order than it is written.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), so that text from
    a scenario, a profile or a file name reaches a terminal, a page or a figure as text: no
    escape sequence in a description can clear the screen, retitle the window or hide a line,
    and an SVG stays XML. Tabs and newlines stay.
    """
    return _CONTROL.sub(_escaped, text)
