"""Fast bulk writes of column arrays into the app's own tables.

The generator hands over whole columns (numpy arrays or lists of str). On PostgreSQL they become
COPY text built with vectorised numpy (no per-row Python for numbers, dates and times); on SQLite
they are written with executemany in one transaction. Either way the rows are exactly what the ORM
would have stored: the same column representation, explicit ids with the identity sequences reset
afterwards, and every column the generator does not fill takes the model field's default.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.management.color import no_style
from django.db import connection as default_connection
from django.db import models

_TAB, _NL = 9, 10


# --------------------------------------------------------------------------------------------- columns
@dataclass
class Col:
    """One column: kind is int, bool, money (int cents), date (days since 1970-01-01),
    ts (seconds since the epoch, UTC), text (list of str) or const (one Python value)."""

    kind: str
    values: Any
    null: np.ndarray | None = None  # True where the value is NULL
    prefix: str = ""  # code: text before the zero-padded number
    width: int = 0  # code: digits; 0 = as many as needed
    blank_zero: bool = False  # code: 0 is written as an empty string


def ints(values, null=None) -> Col:
    return Col("int", np.asarray(values, dtype=np.int64), null)


def bools(values) -> Col:
    return Col("bool", np.asarray(values, dtype=bool))


def money(cents) -> Col:
    return Col("money", np.asarray(cents, dtype=np.int64))


def dates(days, null=None) -> Col:
    return Col("date", np.asarray(days, dtype=np.int64), null)


def stamps(seconds) -> Col:
    return Col("ts", np.asarray(seconds, dtype=np.int64))


def text(values: Iterable[str]) -> Col:
    return Col("text", values if isinstance(values, list | np.ndarray) else list(values))


def code(values, *, prefix: str = "", width: int = 0, blank_zero: bool = False) -> Col:
    """Integers shown as text: zero-padded to `width` after `prefix` (M00000042, R0000001234, a phone)."""
    return Col("code", np.asarray(values, dtype=np.int64), prefix=prefix, width=width, blank_zero=blank_zero)


def const(value) -> Col:
    return Col("const", value)


# ------------------------------------------------------------------------------ vectorised formatting
def _digits(a: np.ndarray, width: int | None = None, zero_pad: bool = False) -> np.ndarray:
    """Non-negative ints -> (N, width) ASCII matrix, right-aligned; leading zeros become NUL
    (removed when the buffer is compacted) unless zero_pad."""
    a = np.asarray(a, dtype=np.int64)
    if width is None:
        width = len(str(int(a.max()))) if a.size else 1
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = a[:, None] // pow10
    out = (digits % 10 + 48).astype(np.uint8)
    if not zero_pad:
        lead = digits == 0
        lead[:, -1] = False
        out[lead] = 0
    return out


def _signed(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    mat = _digits(np.abs(a))
    if (a < 0).any():
        sign = np.where(a < 0, ord("-"), 0).astype(np.uint8)[:, None]
        mat = np.concatenate([sign, mat], axis=1)
    return mat


def _const_col(n: int, text_bytes: bytes) -> np.ndarray:
    return np.tile(np.frombuffer(text_bytes, dtype=np.uint8), (n, 1)) if text_bytes else np.zeros((n, 0), np.uint8)


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm)."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = np.where(m <= 2, y + 1, y)
    return y, m, d


def days_from_civil(y, m, d) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64) - (np.asarray(m) <= 2)
    m = np.asarray(m, dtype=np.int64)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + np.asarray(d, dtype=np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _date_matrix(days: np.ndarray) -> np.ndarray:
    y, m, d = civil_from_days(days)
    n = len(days)
    dash = _const_col(n, b"-")
    return np.concatenate([_digits(y, 4, True), dash, _digits(m, 2, True), dash, _digits(d, 2, True)], axis=1)


def _ts_matrix(seconds: np.ndarray, offset_hours: int, suffix: bytes) -> np.ndarray:
    local = np.asarray(seconds, dtype=np.int64) + offset_hours * 3600
    days, secs = np.divmod(local, 86400)
    n = len(local)
    colon = _const_col(n, b":")
    return np.concatenate([
        _date_matrix(days), _const_col(n, b" "), _digits(secs // 3600, 2, True), colon,
        _digits(secs // 60 % 60, 2, True), colon, _digits(secs % 60, 2, True), _const_col(n, suffix),
    ], axis=1)


def _code_matrix(col: Col, n: int) -> np.ndarray:
    values = np.asarray(col.values, dtype=np.int64)
    mat = np.concatenate([_const_col(n, col.prefix.encode()),
                          _digits(values, col.width or None, zero_pad=bool(col.width))], axis=1)
    if col.blank_zero:
        mat[values == 0] = 0
    return mat


def _escape_copy(value: str) -> bytes:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value.encode()


def _text_matrix(values) -> np.ndarray:
    encoded = [_escape_copy(v) for v in values]
    arr = np.array(encoded, dtype=bytes) if encoded else np.zeros(0, dtype="S1")
    if arr.dtype.itemsize == 0:  # all empty
        arr = arr.astype("S1")
    return arr.view(np.uint8).reshape(len(encoded), arr.dtype.itemsize)


def _const_text(value: Any) -> bytes:
    if value is None:
        return b"\\N"
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, dict | list):
        return _escape_copy(json.dumps(value))
    return _escape_copy(str(value))


def copy_matrix(col: Col, n: int) -> np.ndarray:
    """The column as a NUL-padded (n, width) matrix of COPY text."""
    if col.kind == "const":
        mat = _const_col(n, _const_text(col.values))
    elif col.kind == "int":
        mat = _signed(col.values)
    elif col.kind == "bool":
        mat = np.where(col.values, ord("t"), ord("f")).astype(np.uint8)[:, None]
    elif col.kind == "money":
        cents = np.asarray(col.values, dtype=np.int64)
        amount = np.abs(cents)
        parts = [_digits(amount // 100), _const_col(n, b"."), _digits(amount % 100, 2, True)]
        if (cents < 0).any():
            parts.insert(0, np.where(cents < 0, ord("-"), 0).astype(np.uint8)[:, None])
        mat = np.concatenate(parts, axis=1)
    elif col.kind == "code":
        mat = _code_matrix(col, n)
    elif col.kind == "date":
        mat = _date_matrix(col.values)
    elif col.kind == "ts":
        mat = _ts_matrix(col.values, 8, b"+08")
    elif col.kind == "text":
        mat = _text_matrix(col.values)
    else:
        raise ValueError(col.kind)
    if col.null is not None and col.null.any():
        if mat.shape[1] < 2:
            mat = np.concatenate([mat, np.zeros((n, 2 - mat.shape[1]), np.uint8)], axis=1)
        mat = mat.copy()
        mat[col.null] = 0
        mat[col.null, 0] = ord("\\")
        mat[col.null, 1] = ord("N")
    return mat


def copy_text(cols: list[Col], n: int) -> bytes:
    parts = []
    sep = np.full((n, 1), _TAB, np.uint8)
    for i, col in enumerate(cols):
        if i:
            parts.append(sep)
        parts.append(copy_matrix(col, n))
    parts.append(np.full((n, 1), _NL, np.uint8))
    flat = np.concatenate(parts, axis=1).ravel()
    return flat[flat != 0].tobytes()


def python_values(col: Col, n: int, field: models.Field, conn) -> list:
    """The column as Python values the way Django's SQLite backend stores them."""
    if col.kind == "const":
        value = field.get_db_prep_save(col.values, conn)
        out = [value] * n
    elif col.kind == "int":
        out = col.values.tolist()
    elif col.kind == "bool":
        out = col.values.tolist()
    elif col.kind == "money":
        out = [f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}" for c in col.values.tolist()]
    elif col.kind == "code":
        fmt = f"{col.prefix}{{:0{col.width}d}}" if col.width else f"{col.prefix}{{}}"
        out = ["" if (col.blank_zero and v == 0) else fmt.format(v) for v in col.values.tolist()]
    elif col.kind in ("date", "ts"):
        mat = _date_matrix(col.values) if col.kind == "date" else _ts_matrix(col.values, 0, b"")
        out = [bytes(row).decode() for row in mat]
    elif col.kind == "text":
        out = list(col.values)
    else:
        raise ValueError(col.kind)
    if col.null is not None:
        out = [None if isnull else v for v, isnull in zip(out, col.null.tolist(), strict=True)]
    return out


# ---------------------------------------------------------------------------------------------- loader
class BulkLoader:
    """Writes whole tables. Use inside transaction.atomic(); call finish() at the end.

    On PostgreSQL with drop_indexes, the secondary indexes, unique and foreign-key constraints of
    the given tables are dropped first and rebuilt by finish() (same names and definitions), all in
    the caller's transaction: an error rolls everything back, indexes included.
    """

    def __init__(self, tables: list[type[models.Model]], *, connection=None, drop_indexes: bool = True,
                 chunk_rows: int = 500_000, log=None):
        self.conn = connection or default_connection
        self.tables = tables
        self.pg = self.conn.vendor == "postgresql"
        self.drop_indexes = drop_indexes and self.pg
        self.chunk_rows = chunk_rows
        self.log = log or (lambda msg: None)
        self.timings: dict[str, float] = {}
        self._saved: list[tuple[str, str, str, str]] = []  # (table, kind, name, definition)
        self.written: dict[str, int] = {}
        if self.pg:
            with self.conn.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit = off")
                cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        if self.drop_indexes:
            self._drop()

    # ---- ids
    def next_id(self, model: type[models.Model]) -> int:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.conn.ops.quote_name(model._meta.db_table)}")
            return int(cur.fetchone()[0]) + 1

    # ---- indexes (PostgreSQL)
    def _drop(self) -> None:
        t0 = time.perf_counter()
        names = [m._meta.db_table for m in self.tables]
        with self.conn.cursor() as cur:
            # rows written earlier in this transaction have deferred foreign-key checks pending,
            # which forbid ALTER TABLE: run them now (the constraints go back to deferred in finish)
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(
                """SELECT c.conrelid::regclass::text, c.contype, c.conname, pg_get_constraintdef(c.oid)
                     FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('f', 'u')
                    ORDER BY c.contype, c.conname""",
                [names],
            )
            constraints = cur.fetchall()
            cur.execute(
                """SELECT i.indrelid::regclass::text, 'i', ci.relname, pg_get_indexdef(i.indexrelid)
                     FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                    WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                      AND c.conrelid = i.indrelid)
                    ORDER BY ci.relname""",
                [names],
            )
            indexes = cur.fetchall()
            # foreign keys first (they may depend on unique indexes), then unique constraints, then indexes
            for table, kind, name, _definition in constraints:
                if kind == "f":
                    cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for table, kind, name, _definition in constraints:
                if kind == "u":
                    cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for _table, _kind, name, _definition in indexes:
                cur.execute(f'DROP INDEX "{name}"')
        self._saved = [c for c in constraints if c[1] == "u"] + list(indexes) + [c for c in constraints if c[1] == "f"]
        self.timings["drop indexes"] = time.perf_counter() - t0

    def _restore(self) -> None:
        t0 = time.perf_counter()
        with self.conn.cursor() as cur:
            for table, kind, name, definition in self._saved:
                t1 = time.perf_counter()
                if kind == "i":
                    cur.execute(definition)
                else:
                    cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
                self.log(f"    rebuilt {name} in {time.perf_counter() - t1:.1f}s")
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        self._saved = []
        self.timings["rebuild indexes"] = time.perf_counter() - t0

    # ---- rows
    def _columns(self, model: type[models.Model], cols: dict[str, Col]) -> list[tuple[models.Field, Col]]:
        out = []
        for field in model._meta.concrete_fields:
            col = cols.get(field.column)
            if col is None:
                if field.primary_key:
                    raise ValueError(f"{model.__name__}: ids are required")
                if field.has_default():
                    col = const(field.get_default())
                elif field.null:
                    col = const(None)
                else:
                    raise ValueError(f"{model.__name__}.{field.name}: no value and no default")
            out.append((field, col))
        unknown = set(cols) - {f.column for f in model._meta.concrete_fields}
        if unknown:
            raise ValueError(f"{model.__name__}: unknown columns {sorted(unknown)}")
        return out

    def write(self, model: type[models.Model], cols: dict[str, Col], n: int) -> None:
        if n == 0:
            return
        t0 = time.perf_counter()
        table = model._meta.db_table
        pairs = self._columns(model, cols)
        names = ", ".join(self.conn.ops.quote_name(f.column) for f, _c in pairs)
        if self.pg:
            self._copy(table, names, pairs, n)
        else:
            placeholders = ", ".join(["%s"] * len(pairs))
            sql = f"INSERT INTO {self.conn.ops.quote_name(table)} ({names}) VALUES ({placeholders})"
            with self.conn.cursor() as cur:
                for start in range(0, n, self.chunk_rows):
                    stop = min(n, start + self.chunk_rows)
                    columns = [python_values(_slice(c, start, stop), stop - start, f, self.conn) for f, c in pairs]
                    cur.executemany(sql, list(zip(*columns, strict=True)))
        self.written[table] = self.written.get(table, 0) + n
        self.timings[table] = self.timings.get(table, 0.0) + time.perf_counter() - t0

    def _copy(self, table: str, names: str, pairs, n: int) -> None:
        from psycopg.copy import QueuedLibpqWriter

        with self.conn.cursor() as wrapper:
            cur = wrapper.cursor
            with cur.copy(f"COPY {self.conn.ops.quote_name(table)} ({names}) FROM STDIN",
                          writer=QueuedLibpqWriter(cur)) as copy:
                for start in range(0, n, self.chunk_rows):
                    stop = min(n, start + self.chunk_rows)
                    copy.write(copy_text([_slice(c, start, stop) for _f, c in pairs], stop - start))

    def finish(self) -> None:
        if self.drop_indexes:
            self._restore()
        if self.pg:
            with self.conn.cursor() as cur:
                for sql in self.conn.ops.sequence_reset_sql(no_style(), self.tables):
                    cur.execute(sql)


def _slice(col: Col, start: int, stop: int) -> Col:
    if col.kind == "const":
        return col
    null = None if col.null is None else col.null[start:stop]
    return Col(col.kind, col.values[start:stop], null, col.prefix, col.width, col.blank_zero)


def analyze(tables: list[type[models.Model]], connection=None) -> float:
    """Statistics for the planner after a bulk load. On PostgreSQL VACUUM (ANALYZE) of the whole database, as
    autovacuum would do in production in time: the small tables written by the ORM get statistics too (the
    planner otherwise takes the stores of a brand for one row), and the loaded rows get their hint bits and
    visibility map (else the first reads of each page write it back, and index-only scans read the heap)."""
    conn = connection or default_connection
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        if conn.vendor == "postgresql" and not conn.in_atomic_block:
            cur.execute("VACUUM (ANALYZE)")
        else:
            for model in tables:
                cur.execute(f"ANALYZE {conn.ops.quote_name(model._meta.db_table)}")
    return time.perf_counter() - t0
