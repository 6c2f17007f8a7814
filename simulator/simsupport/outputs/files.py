"""Atomic file writes: a crash mid-write leaves the old file or none, never half a file.

Each writer writes to a temporary file beside the target, flushes it to disk and renames it
over the target (`os.replace` is atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SimsupportError
from .tables import FLOAT, INT, LOCAL, STR, TIME, Columns, local, naive

_DAY_US = 86_400_000_000
_CSV_BLOCK = 8_192  # rows of text at a time (a few MB of str objects)
_UMASK = os.umask(0)
os.umask(_UMASK)


# the machine's problems, not the program's: said in one line, exit 2
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR}


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` and move the result to `path` atomically. A full disk, a
    read-only or forbidden folder is the user's to fix: SimsupportError, not a crash."""
    path = Path(path)
    tmp_path: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        write(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp_path, path)
    except BaseException as exc:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()
        if isinstance(exc, OSError) and (exc.errno in ENVIRONMENT_ERRNOS or "No space left" in str(exc)):
            reason = exc.strerror or str(exc).split(". Detail")[0]
            raise SimsupportError(f"cannot write {path}: {reason}; nothing of it was kept") from None
        raise
    return path


def _clean(value: Any) -> Any:
    """JSON has no NaN: undefined metrics become null."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def write_json(path: str | Path, data: Any) -> Path:
    text = json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_table(path: str | Path, frame: Any) -> Path:
    """A pandas DataFrame as Parquet or CSV (by the file's suffix)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda p: frame.to_parquet(p, index=False))
    return atomic_write(path, lambda p: frame.to_csv(p, index=False))


@cache
def pandas_version() -> str | None:
    """The installed pandas' version, without importing it (a third of a second)."""
    try:
        return version("pandas")
    except PackageNotFoundError:
        return None


def columns_as_pandas_writes() -> bool:
    """Does `write_columns` write what this pandas writes? It follows pandas 3 (str columns
    as large_string, microsecond timestamps); other versions take pandas' own path."""
    v = pandas_version()
    return v is not None and v.split(".")[0] == "3"


def write_columns(path: str | Path, cols: Columns) -> Path:
    """Plain columns as Parquet or CSV (by the file's suffix), the very file that
    `write_table(path, DataFrame(cols))` writes with pandas 3, without importing pandas."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda p: _columns_parquet(p, cols))
    return atomic_write(path, lambda p: _columns_csv(p, cols))


def _columns_csv(path: Path, cols: Columns) -> None:
    """As DataFrame.to_csv(index=False): floats as repr (numpy's astype(str)), NaN empty,
    timestamps as str(Timestamp), naive ones as dates alone when every one is a midnight (as
    pandas shortens them), the csv module's minimal quoting, os.linesep. Written chunk by
    chunk in blocks of rows, so that the text of a long table is never all in memory; a
    timestamp's text is made once per distinct value."""
    text_of: dict[str, dict[int, str]] = {}
    for name, chunks in cols.data.items():
        kind = cols.types[name]
        if kind in (TIME, LOCAL):
            distinct = np.unique(np.concatenate([np.unique(np.asarray(c, dtype=np.int64)) for c in chunks]))
            if kind == TIME:
                text_of[name] = {us: str(local(us, cols.tz)) for us in distinct.tolist()}
            else:
                dates_only = bool(np.all(distinct % _DAY_US == 0))
                text_of[name] = {us: str(naive(us).date()) if dates_only else str(naive(us)) for us in distinct.tolist()}
    names = list(cols.data)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator=os.linesep)
        w.writerow(names)
        for k in range(len(cols.data[names[0]])):
            n = len(cols.data[names[0]][k])
            for a in range(0, n, _CSV_BLOCK):
                b = min(a + _CSV_BLOCK, n)
                block: list[list[str]] = []
                for name in names:
                    part = np.asarray(cols.data[name][k])[a:b]
                    if name in text_of:
                        text = text_of[name]
                        block.append([text[us] for us in part.tolist()])
                    elif cols.types[name] == FLOAT:
                        block.append(["" if v != v else repr(v) for v in part.astype(float).tolist()])
                    else:
                        block.append([str(v) for v in part.tolist()])
                w.writerows(zip(*block))


def _columns_parquet(path: Path, cols: Columns) -> None:
    """As DataFrame.to_parquet(index=False) through pyarrow: NaN as null, pandas' schema
    metadata (so pandas reads the same dtypes back), snappy. The arrays are built from numpy
    buffers: `pyarrow.array` would import pandas, the very cost this path avoids."""
    import pyarrow as pa  # pyarrow only when the file is written
    import pyarrow.parquet as pq

    tz = pa.lib.tzinfo_to_string(cols.tz)
    arrow = {
        INT: (pa.int64(), "int64", "int64", None),
        FLOAT: (pa.float64(), "float64", "float64", None),
        STR: (pa.large_string(), "object", "str", None),
        TIME: (pa.timestamp("us", tz=tz), "datetimetz", "datetime64[us]", {"timezone": tz}),
        LOCAL: (pa.timestamp("us"), "datetime", "datetime64[us]", None),
    }
    def arrow_array(kind: str, typ: Any, values: np.ndarray) -> Any:
        n = len(values)
        if kind == STR:  # each distinct string encoded once; rows refer to it (8 bytes a row)
            encoded = {v: v.encode("utf-8") for v in dict.fromkeys(values.tolist())}
            data = [encoded[v] for v in values.tolist()]
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.fromiter((len(b) for b in data), dtype=np.int64, count=n), out=offsets[1:])
            return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))], null_count=0)
        if kind == FLOAT:
            x = np.ascontiguousarray(values, dtype=np.float64)
            valid = ~np.isnan(x)
            nulls = n - int(valid.sum())
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
            return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(x)], null_count=nulls)
        # INT, TIME and LOCAL (microseconds): 64-bit integers
        return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(np.ascontiguousarray(values, dtype=np.int64))], null_count=0)

    # one Arrow chunk per replication: the same file as from one concatenated array (the
    # writer cuts pages and row groups by rows, not by chunks), without the copy
    arrays, meta = [], []
    for name, chunks in cols.data.items():
        kind = cols.types[name]
        typ, pandas_type, numpy_type, extra = arrow[kind]
        arrays.append(pa.chunked_array([arrow_array(kind, typ, np.asarray(c)) for c in chunks], type=typ))
        meta.append({"name": name, "field_name": name, "pandas_type": pandas_type, "numpy_type": numpy_type,
                     "metadata": extra})  # fmt: skip
    pandas_meta = {
        "index_columns": [], "column_indexes": [], "columns": meta, "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": pandas_version(),
    }  # fmt: skip
    metadata = {b"pandas": json.dumps(pandas_meta).encode("utf8")}
    pq.write_table(pa.Table.from_arrays(arrays, names=list(cols.data), metadata=metadata), path, compression="snappy")
