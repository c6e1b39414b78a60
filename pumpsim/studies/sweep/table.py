"""The per-patient and per-flag tables: Parquet with pyarrow, CSV without it.

Rows are streamed batch by batch (memory flat in the number of patients) into a temporary
file that is renamed when complete. Same rows, same bytes: CSV floats are written with
``repr`` (shortest round-trip form); Parquet files hold no timestamps. Parquet fields carry
their unit and description as field metadata. A CSV text cell that a spreadsheet would read
as a formula (beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written
with a leading ``'`` (contract section 13); numbers never are.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pumpsim.files import commit_temporary, discard_temporary, open_temporary


@contextmanager
def without_pandas() -> Iterator[None]:
    """Keep pyarrow from importing pandas (about half a second) in a process that never needs it.

    pyarrow imports pandas on its first ``pa.array`` call to check for pandas objects; the CLI
    never passes any, so it makes pandas unimportable for the duration. Not for library use:
    pyarrow remembers that pandas was missing for the rest of the process.
    """
    if "pandas" in sys.modules:
        yield
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)


class _NoPandas:
    """An import finder that refuses pandas (see ``without_pandas``)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def have_pyarrow() -> bool:
    """Whether the parquet extra is installed."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


#: Rows per Parquet row group (at most; the last group holds the rest).
ROW_GROUP = 8192
#: Leading characters that make a spreadsheet read a text cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula (a leading ``'`` where needed)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return safe_text(str(value))


def write_rows(buf: Any, rows: Iterable[Sequence[Any]]) -> None:
    """CSV rows into ``buf``, cells written as in the tables. A row with a carriage return in
    a cell is quoted whole (Python's csv module quotes a newline but not a lone CR, which a
    reader would take for the end of the row)."""
    plain = csv.writer(buf, lineterminator="\n")
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [_cell(v) for v in row]
        (quoted if any("\r" in c for c in cells) else plain).writerow(cells)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small CSV document (a header and rows), cells written as in the tables."""
    buf = io.StringIO()
    write_rows(buf, [[safe_text(h) for h in header]])
    write_rows(buf, rows)
    return buf.getvalue()


class TableWriter:
    """Writes one table whole or not at all. Use as a context manager; ``write(rows)``."""

    def __init__(
        self,
        path_stem: str,
        columns: Sequence[str],
        types: Sequence[str],
        parquet: bool,
        meta: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self.types = tuple(types)  # "int" | "float" | "str" | "bool"
        self.meta = [tuple(m) for m in meta] if meta is not None else None  # (unit, text)
        self.parquet = parquet
        self.path = path_stem + (".parquet" if parquet else ".csv")
        self._tmp: str | None = None
        self._fh: Any = None
        self._writer: Any = None
        self._schema: Any = None
        self._pending: list[Sequence[Any]] = []

    def __enter__(self) -> TableWriter:
        fd, self._tmp = open_temporary(self.path, "the patient table")
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            os.close(fd)
            kinds = {
                "int": pa.int64(),
                "float": pa.float64(),
                "str": pa.string(),
                "bool": pa.bool_(),
            }
            meta = self.meta or [("", "")] * len(self.columns)
            self._schema = pa.schema(
                [
                    pa.field(c, kinds[t], metadata={"unit": m[0], "description": m[1]})
                    for c, t, m in zip(self.columns, self.types, meta, strict=True)
                ]
            )
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
        else:
            self._fh = open(fd, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh, lineterminator="\n")
            self._writer.writerow(self.columns)
        return self

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (tuples or lists in column order)."""
        if self.parquet:
            # Rows are gathered into row groups of ``ROW_GROUP`` rows (a small batch each
            # would make a thousand one-row groups for a grid of one-patient points).
            self._pending.extend(rows)
            if len(self._pending) >= ROW_GROUP:
                self._flush()
        else:
            buf = io.StringIO()
            write_rows(buf, rows)
            self._fh.write(buf.getvalue())

    def _flush(self) -> None:
        import pyarrow as pa

        rows, self._pending = self._pending, []
        if not rows:
            return
        cols = list(zip(*rows, strict=True))
        arrays = [
            pa.array(list(col), type=f.type) for col, f in zip(cols, self._schema, strict=True)
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if self.parquet:
                if kind is None:
                    self._flush()
                self._writer.close()
            else:
                self._fh.close()
            if kind is None:
                assert self._tmp is not None
                commit_temporary(self._tmp, self.path, "the patient table")
                self._tmp = None
        finally:
            if self._tmp is not None:
                discard_temporary(self._tmp)
