"""A progress bar for sweeps: patients done, rate and time left; quiet when not a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from pumpsim.model.units import SECONDS_PER_HOUR, format_duration_h


class Progress:
    """tqdm when installed, else a one-line bar redrawn on ``stream`` (stderr)."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        *,
        enabled: bool,
        stream: TextIO | None = None,
        use_tqdm: bool = True,
    ) -> None:
        self.total = total
        self.done = done
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._start = time.monotonic()
        self._start_done = done
        self._bar: Any = None
        if enabled:
            try:
                if not use_tqdm:
                    raise ImportError
                from tqdm import tqdm
            except ImportError:
                self._draw()
            else:
                self._bar = tqdm(
                    total=total, initial=done, unit="patient", file=self.stream, smoothing=0.1
                )

    def update(self, patients: int) -> None:
        """``patients`` more are done."""
        self.done += patients
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(patients)
        else:
            self._draw()

    def _draw(self) -> None:
        elapsed = time.monotonic() - self._start
        new = self.done - self._start_done
        rate = new / elapsed if elapsed > 0 and new > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        eta = "?" if left is None else format_duration_h(left / SECONDS_PER_HOUR)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} patients, "
            f"{rate:.0f}/s, {eta} left  "
        )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self.stream.write("\n")
            self.stream.flush()
