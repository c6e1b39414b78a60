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


class ProgressLines:
    """Progress as plain lines, for a run off a terminal (CI, ``nohup``) and for ``run.log``.

    A line is written when at least ``every_share`` of the patients and ``every_s`` seconds
    have passed since the last one (whichever comes later), and when the run ends (on
    ``stream`` only when the run took ``every_s`` or longer: a short run prints nothing).
    ``log`` and ``stream`` are callables taking one line (``run.log``; stderr or None).
    """

    def __init__(
        self,
        total: int,
        done: int = 0,
        *,
        log: Any,
        stream: Any = None,
        every_share: float = 0.1,
        every_s: float = 30.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.total = total
        self.done = done
        self.log = log
        self.stream = stream
        self.every_share = every_share
        self.every_s = every_s
        self.clock = clock
        self._start = clock()
        self._start_done = done
        self._last_t = self._start
        self._last_done = done

    def update(self, patients: int) -> None:
        """``patients`` more are done."""
        self.done += patients
        now = self.clock()
        step = self.done - self._last_done
        if step >= self.every_share * self.total and now - self._last_t >= self.every_s:
            self._emit(now)

    def _emit(self, now: float, to_stream: bool = True) -> None:
        self._last_t, self._last_done = now, self.done
        elapsed = now - self._start
        new = self.done - self._start_done
        share = 100.0 * self.done / self.total if self.total else 100.0
        line = f"progress: {self.done} of {self.total} patients ({share:.0f} %), {elapsed:.0f} s"
        if new > 0 and self.done < self.total and elapsed > 0:
            left = (self.total - self.done) * elapsed / new
            line += f", about {format_duration_h(left / SECONDS_PER_HOUR)} left"
        self.log(line)
        if to_stream and self.stream is not None:
            self.stream(line)

    def close(self) -> None:
        """The last line, unless it was just written."""
        if self.done != self._last_done:
            now = self.clock()
            self._emit(now, to_stream=now - self._start >= self.every_s)
