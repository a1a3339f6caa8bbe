"""Fast bulk writes for imports and generated data: model instances from positional values and
batched inserts (COPY on PostgreSQL, multi-row INSERT ... RETURNING on SQLite, bulk_create elsewhere)."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, models

INSERT_BATCH = 1000


class Stopwatch:
    """Seconds per step of an import, kept in the job's summary (for the benchmark and for support)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 2)
        self._last = now


class ModelBuilder:
    """Makes model instances from positional values (Django's fast path: ~5x quicker than keywords).

    `make(**values)` starts from each field's default, so it is used like the model's constructor.
    """

    def __init__(self, model: type) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.index.update({f.name: i for i, f in enumerate(fields)})
        self.defaults = [None if f.primary_key else f.get_default() for f in fields]
        # a callable default (dict, list, now) gives each instance its own value
        self.per_instance = [(i, f) for i, f in enumerate(fields) if f.has_default() and callable(f.default)]

    def make(self, values: dict[str, Any]) -> Any:
        args = self.defaults.copy()
        for i, f in self.per_instance:
            args[i] = f.get_default()
        index = self.index
        for name, value in values.items():
            args[index[name]] = value
        return self.model(*args)


# Plain fields whose Python value is already what the database driver takes (no get_db_prep_save needed).
_PLAIN_FIELDS = (models.CharField, models.TextField, models.EmailField, models.BooleanField,
                 models.PositiveSmallIntegerField, models.SmallIntegerField, models.IntegerField,
                 models.BigIntegerField, models.ForeignKey)
# Backends with a fast path in bulk_insert; the others use bulk_create (tests empty this set to check it).
FAST_INSERT_VENDORS = {"postgresql", "sqlite"}


def db_rows(objs: list[Any], fields: list[Any]) -> Iterator[list[Any]]:
    """Database values of model instances, field by field as bulk_create would prepare them."""
    getter = operator.attrgetter(*[f.attname for f in fields])
    special = [(i, f, {} if isinstance(f, models.DateField) else None)  # DateTimeField is a DateField
               for i, f in enumerate(fields) if type(f) not in _PLAIN_FIELDS]
    single = len(fields) == 1
    for obj in objs:
        values = [getter(obj)] if single else list(getter(obj))
        for i, f, cache in special:
            value = values[i]
            if value is None:
                value = f.pre_save(obj, True)  # auto_now and the like
            if cache is None:
                values[i] = f.get_db_prep_save(value, connection)
            else:  # dates repeat (one import time, shared birthdays): prepare each once
                prepared = cache.get(value, cache)
                if prepared is cache:
                    prepared = cache[value] = f.get_db_prep_save(value, connection)
                values[i] = prepared
        yield values


def bulk_insert(model: type, objs: list[Any], *, returning: str | None = None) -> None:
    """Insert many rows fast, in batches; with `returning` (a unique field) each object gets its pk.

    bulk_create spends ~0.25 ms of Python per 46-column member row and PostgreSQL plans each
    1000-row VALUES list slowly: 100,000 members took 25-30 s on either database, too slow for the
    import's budget. So PostgreSQL takes the rows through COPY (ids drawn from the table's identity
    sequence first) and SQLite through multi-row INSERTs with RETURNING; values are prepared by the
    same field methods bulk_create uses. Other backends use bulk_create.
    """
    if not objs:
        return
    if connection.vendor not in FAST_INSERT_VENDORS:
        model.objects.bulk_create(objs, batch_size=INSERT_BATCH)
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if returning:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [meta.db_table, pk.column, len(objs)])
                for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
                    obj.pk = new_id
                fields = [pk, *fields]
            columns = ", ".join(qn(f.column) for f in fields)
            with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
                for values in db_rows(objs, fields):
                    copy.write_row(values)
            return
        # SQLite: as many rows per statement as its variable limit allows
        import sqlite3

        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per_statement = max(1, min(500, limit // len(fields)))
        columns = ", ".join(qn(f.column) for f in fields)
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        key = meta.get_field(returning) if returning else None
        suffix = f" RETURNING {qn(pk.column)}, {qn(key.column)}" if key else ""
        by_key = {getattr(obj, key.attname): obj for obj in objs} if key else {}
        rows = db_rows(objs, fields)
        for start in range(0, len(objs), per_statement):
            count = min(per_statement, len(objs) - start)
            params = [v for _ in range(count) for v in next(rows)]
            cursor.execute(f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {', '.join([one] * count)}{suffix}",
                           params)
            if key:
                for new_id, key_value in cursor.fetchall():  # RETURNING order is not guaranteed: match by key
                    by_key[key_value].pk = new_id


def in_pk_chunks(queryset: models.QuerySet, size: int = 2000, *, key: str | None = None) -> Iterator[Any]:
    """Every row of `queryset` in primary-key order, read `size` rows at a time by keyset (id > the last one
    seen), each chunk its own short query: no server-side cursor held across transactions (which PgBouncer in
    transaction mode cannot keep) and no OFFSET that grows with the table. Prefetches run per chunk.

    With `key` (the name of the primary key in a `.values()` queryset's dicts), yields the chunks themselves
    (lists of dicts), for callers that complete each chunk's rows at once."""
    last = None
    ordered = queryset.order_by("pk")
    while True:
        chunk = list((ordered if last is None else ordered.filter(pk__gt=last))[:size])
        if key is not None:
            if chunk:
                yield chunk
        else:
            yield from chunk
        if len(chunk) < size:
            return
        last = chunk[-1][key] if key is not None else chunk[-1].pk


def read_ahead(make: Callable[[], Iterator[Any]], *, using: str, depth: int = 2) -> Iterator[Any]:
    """The items of `make()`, read one step ahead in a second thread while the caller works on the last one.

    For long exports: the database works on the next chunk (in its own process, on the other core) while
    Python formats this one, so an export costs about the slower of the two rather than their sum. The
    thread reads through its own connection to `using`, so it only sees committed rows: inside a transaction
    (a request's atomic block, a test) the items are read in the caller's thread instead. The thread's
    connection is closed when it ends; an error in it is raised in the caller.
    """
    from django.db import connections

    if connections[using].in_atomic_block:
        yield from make()
        return
    import queue
    import threading

    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in make():
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", None))
        except BaseException as exc:  # handed to the caller
            items.put(("error", exc))
        finally:
            connections[using].close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.1)
