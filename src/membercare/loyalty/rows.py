"""Hand-written SQL for the checkout's hot path, with rows converted exactly as the ORM converts them.

The POS checkout runs a dozen statements per sale; building each one with the ORM costs more CPU than
PostgreSQL spends executing it. The few statements on that path are written out here once; their
columns are named as model fields, so every value comes back as the ORM would return it (Decimal
amounts, aware datetimes, booleans on SQLite too), and partial model instances are built with
`Model.from_db` (the other fields are deferred: loaded on access, never overwritten by a save).
Parameters and inserted values are prepared per field as the ORM prepares them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import DEFERRED, Field, Model, signals
from django.db.models.base import ModelState


def db():
    """The default connection itself (each attribute read through django.db.connection costs a lookup)."""
    return connections[DEFAULT_DB_ALIAS]


def _cached(cache: dict, fields: tuple, extra: Any, build):
    """cache[(id(fields), extra)], built once. Keyed by identity, not by hashing every field on every row
    (Field.__hash__ is Python code); the entry keeps `fields` alive, so its id cannot be reused meanwhile.
    Call sites pass tuples built once (module constants); the cache is bounded all the same."""
    key = (id(fields), extra)
    entry = cache.get(key)
    if entry is None or entry[0] is not fields:
        if len(cache) > 512:
            cache.clear()
        entry = cache[key] = (fields, build())
    return entry[1]


_CONVERTERS: dict = {}


def _converters(conn, fields: tuple[Field | None, ...]) -> list:
    """Per column that needs one: (index, converter functions, column expression), as the ORM applies them."""
    def build():
        found = []
        for i, field in enumerate(fields):
            if field is None:  # a column taken as the driver returns it
                continue
            col = field.get_col(field.model._meta.db_table)
            functions = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if functions:
                found.append((i, functions, col))
        return found

    return _cached(_CONVERTERS, fields, conn.vendor, build)


def convert(conn, row: Sequence[Any], fields: tuple[Field | None, ...]) -> list[Any]:
    values = list(row)
    for i, functions, col in _converters(conn, fields):
        for fn in functions:
            values[i] = fn(values[i], col, conn)
    return values


def fields_of(model: type[Model], *names: str) -> tuple[Field, ...]:
    return tuple(model._meta.get_field(name) for name in names)


def param(model: type[Model], name: str, value: Any) -> Any:
    """A query parameter prepared as the ORM prepares it for that field (e.g. datetimes on SQLite)."""
    return model._meta.get_field(name).get_db_prep_value(value, db(), prepared=False)


def cursor(conn):
    """A cursor for the hot path's statements. On PostgreSQL they are prepared on first use per connection
    (server-side binding, `prepare=True`): each is then parsed and planned once per connection, not once
    per sale. Django's other queries are not prepared (its client-side binding cursors never are). Behind
    PgBouncer in transaction mode this needs PgBouncer >= 1.21 with `max_prepared_statements` set.
    Their `%s` placeholders are turned into PostgreSQL's `$n` once per statement text (psycopg would
    otherwise parse every statement longer than 4 kB or with more than 50 parameters on every execution).
    Django's wrapper stays around the cursor (errors, execute wrappers, query logging)."""
    if conn.vendor != "postgresql":
        return conn.cursor()
    conn.ensure_connection()
    pg = conn.connection
    if pg.prepare_threshold is None:  # Django turns preparing off; only these statements ask for it
        pg.prepare_threshold = 2**31 - 1
    classes = _pg_classes()
    conn.validate_thread_sharing()
    raw = classes[0](pg)
    return classes[1](raw, conn) if conn.queries_logged else conn.make_cursor(raw)


class _Statement:
    """`with _Statement(conn) as cur`: on PostgreSQL one preparing cursor per database connection, kept open
    and reused by the next statement (Django's connection objects belong to one thread each); elsewhere a new
    cursor, closed after."""

    __slots__ = ("conn", "cur")

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        conn = self.conn
        if conn.vendor != "postgresql":
            self.cur = conn.cursor()
            return self.cur
        kept = conn.__dict__.get("_mc_statement_cursor")
        if kept is not None and kept[0] is conn.connection and kept[1] == conn.queries_logged \
                and not kept[2].cursor.closed:
            conn.validate_thread_sharing()
            self.cur = None
            return kept[2]
        cur = cursor(conn)
        conn._mc_statement_cursor = (conn.connection, conn.queries_logged, cur)
        self.cur = None
        return cur

    def __exit__(self, *exc):
        if self.cur is not None:
            self.cur.close()


_PG_CLASSES: list[type] = []


def _pg_classes() -> list[type]:
    if not _PG_CLASSES:
        from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
        from django.db.backends.utils import CursorWrapper
        from psycopg.raw_cursor import RawCursorMixin

        class PreparingCursor(RawCursorMixin, ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=True, binary=None):
                return super().execute(numbered(query), params, prepare=prepare, binary=binary)

        class LoggedPreparedCursor(CursorDebugWrapper):
            """Logs the statement with its parameters (psycopg keeps no query text for a prepared one)."""

            def execute(self, sql, params=None):
                try:
                    shown = self.db.ops.compose_sql(sql, params)
                except Exception:  # noqa: BLE001 - only the log's text
                    shown = sql
                with self.debug_sql(shown, params):
                    return CursorWrapper.execute(self, sql, params)

        _PG_CLASSES.extend([PreparingCursor, LoggedPreparedCursor])
    return _PG_CLASSES


_NUMBERED: dict[str, bytes] = {}
_PLACEHOLDER = re.compile(r"%([s%])")


def numbered(sql: str) -> bytes:
    """`sql` with its `%s` placeholders numbered as PostgreSQL's `$1, $2, ...` (and `%%` as `%`), encoded."""
    found = _NUMBERED.get(sql)
    if found is None:
        count = itertools.count(1)
        text = _PLACEHOLDER.sub(lambda m: f"${next(count)}" if m.group(1) == "s" else "%", sql)
        if len(_NUMBERED) >= 512:
            _NUMBERED.clear()
        found = _NUMBERED[sql] = text.encode()
    return found


def fetch_one(sql: str, params: Sequence[Any], fields: tuple[Field, ...]) -> list[Any] | None:
    conn = db()
    with _Statement(conn) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return None if row is None else convert(conn, row, fields)


def fetch_all(sql: str, params: Sequence[Any], fields: tuple[Field, ...]) -> list[list[Any]]:
    conn = db()
    with _Statement(conn) as cur:
        cur.execute(sql, params)
        found = cur.fetchall()
    return [convert(conn, row, fields) for row in found]


def execute(sql: str, params: Sequence[Any]) -> int:
    """A statement without a result; the number of rows it changed."""
    with _Statement(db()) as cur:
        cur.execute(sql, params)
        return cur.rowcount


_ATTNAMES: dict = {}


def instance(model: type[Model], fields: tuple[Field, ...], values: Sequence[Any]) -> Model:
    """A model instance from converted values of some of its fields; the others are deferred (loaded on
    access, as for `.only()`). What `Model.from_db` builds, without its per-field __init__ loop, unless
    something listens to the model's init signals."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        given = {f.attname: v for f, v in zip(fields, values, strict=True)}
        return model.from_db(DEFAULT_DB_ALIAS, list(given),
                             [given.get(f.attname, DEFERRED) for f in model._meta.concrete_fields])
    names = _cached(_ATTNAMES, fields, model, lambda: tuple(f.attname for f in fields))
    obj = model.__new__(model)
    obj.__dict__.update(zip(names, values, strict=True))
    state = obj._state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    return obj


def for_update(of: str) -> str:
    """` FOR UPDATE OF <alias>` where the database has row locks (SQLite serialises writers anyway)."""
    features = db().features
    if not features.has_select_for_update:
        return ""
    return f" FOR UPDATE OF {of}" if features.has_select_for_update_of else " FOR UPDATE"


def columns(model: type[Model], alias: str, *names: str) -> tuple[str, tuple[Field, ...]]:
    """`alias.col, ...` and the fields, for the named fields (all concrete fields when none are named)."""
    fields = fields_of(model, *names) if names else tuple(model._meta.concrete_fields)
    return ", ".join(f'{alias}."{f.column}"' for f in fields), fields


_INSERTS: dict[tuple[str, type[Model], int], tuple[str, list[Field]]] = {}


def insert(objs: Sequence[Model]) -> None:
    """INSERT new instances of one model in one statement, as `save()` would write them (defaults, auto_now,
    values prepared per field); sets their primary keys."""
    conn = db()
    model = type(objs[0])
    key = (conn.vendor, model, len(objs))
    found = _INSERTS.get(key)
    if found is None:
        fields = _insert_fields(model)
        qn = conn.ops.quote_name
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
               f"VALUES {', '.join([one] * len(objs))} RETURNING {qn(model._meta.pk.column)}")
        found = _INSERTS[key] = (sql, fields)
    sql, fields = found
    params = [field.get_db_prep_save(field.pre_save(obj, True), conn) for obj in objs for field in fields]
    with _Statement(conn) as cur:
        cur.execute(sql, params)
        pks = [r[0] for r in cur.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


_UPDATES: dict = {}


def update_fields(obj: Model, names: tuple[str, ...]) -> int:
    """UPDATE the named fields of a saved instance by its primary key, values prepared as `save(update_fields=...)`
    prepares them (without save's signals: for models nothing listens to). Like that save, a row that is gone
    is an error (DatabaseError)."""
    conn = db()
    model = type(obj)
    key = (conn.vendor, model, names)
    found = _UPDATES.get(key)
    if found is None:
        qn = conn.ops.quote_name
        fields = [model._meta.get_field(name) for name in names]
        found = _UPDATES[key] = (
            f"UPDATE {qn(model._meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
            f"WHERE {qn(model._meta.pk.column)} = %s", fields)
    sql, fields = found
    changed = execute(sql, [f.get_db_prep_save(f.pre_save(obj, False), conn) for f in fields] + [obj.pk])
    if not changed:
        raise DatabaseError(f"{model.__name__} {obj.pk} is gone: the update changed no row")
    return changed


_INSERT_FIELDS: dict = {}


def _insert_fields(model: type[Model]) -> list[Field]:
    found = _INSERT_FIELDS.get(model)
    if found is None:
        # every column but a generated id; a field with a database default is db_returning too, yet written
        found = _INSERT_FIELDS[model] = [f for f in model._meta.concrete_fields
                                         if not (f.primary_key and f.db_returning)]
    return found


_LINKED: dict[tuple, str] = {}


def insert_linked(parent: Model, children: Sequence[tuple[Sequence[Model], str]] = (),
                  also: Sequence[tuple[str, Sequence[Any]]] = (),
                  computed: tuple[str, str, list] | None = None,
                  before: Sequence[tuple[str, Sequence[Any]]] = ()) -> list[int]:
    """INSERT `parent`, then each list of children whose field `fk` (an attname, e.g. "receipt_id") points at
    the parent, then run the `also` statements (UPDATEs without results). On PostgreSQL all of it is one
    statement (data-modifying CTEs); elsewhere one statement each. Sets every primary key and the links.
    `computed` (PostgreSQL only): (attname, SQL expression, its parameters) giving one of the parent's
    values in the database (e.g. a number from a sequence); the parent gets the value written.
    `before`: UPDATEs that must see the tables as they were before these inserts (on PostgreSQL every part of
    the one statement does; elsewhere they run first). Returns the number of rows each of them changed."""
    conn = db()
    children = [(objs, fk) for objs, fk in children if objs]
    if conn.vendor != "postgresql":
        if computed is not None:
            raise ValueError("computed values are for PostgreSQL")
        counts = [execute(sql, params) for sql, params in before]
        insert([parent])
        for objs, fk in children:
            for obj in objs:
                setattr(obj, type(obj)._meta.get_field(fk).name, parent)
            insert(objs)
        for sql, params in also:
            execute(sql, params)
        return counts
    model = type(parent)
    key = (model, tuple((type(objs[0]), fk, _rows_shape(objs)) for objs, fk in children),
           tuple(sql for sql, _p in also), computed[:2] if computed else None, tuple(sql for sql, _p in before))
    sql = _LINKED.get(key)
    qn = conn.ops.quote_name
    fields = _insert_fields(model)
    if sql is None:
        values = [computed[1] if computed and f.attname == computed[0] else "%s" for f in fields]
        returning = f", {qn(model._meta.get_field(computed[0]).column)}" if computed else ", NULL"
        parts = [f"p AS (INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
                 f"VALUES ({', '.join(values)}) RETURNING {qn(model._meta.pk.column)} AS id{returning} AS value)"]
        selects = ["SELECT 0 AS step, id, value FROM p"]
        for n, (objs, fk) in enumerate(children, start=1):
            child = type(objs[0])
            cfields = [f for f in _insert_fields(child) if f.attname != fk]
            link = child._meta.get_field(fk)
            names = ", ".join(f"v{i}" for i in range(len(cfields)))
            if _rows_shape(objs):  # a few rows: their values (one prepared statement per number of rows)
                source = "(VALUES " + ", ".join(
                    f"({', '.join(f'%s::{_cast_type(f, conn)}' for f in cfields)}, {i})"
                    for i in range(1, len(objs) + 1)) + ")"
            else:  # one array per column, whatever the number of rows (one prepared statement for all)
                source = f"unnest({', '.join(f'%s::{_cast_type(f, conn)}[]' for f in cfields)}) WITH ORDINALITY"
            parts.append(
                f"c{n} AS (INSERT INTO {qn(child._meta.db_table)} "
                f"({', '.join(qn(f.column) for f in cfields)}, {qn(link.column)}) "
                f"SELECT {names}, p.id FROM p, {source} AS v({names}, ord) ORDER BY v.ord "
                f"RETURNING {qn(child._meta.pk.column)} AS id)")
            selects.append(f"SELECT {n}, id, NULL FROM c{n}")
        parts += [f"x{n} AS ({statement})" for n, (statement, _p) in enumerate(also)]
        parts = [f"b{n} AS ({statement} RETURNING 1)" for n, (statement, _p) in enumerate(before)] + parts
        selects += [f"SELECT {-1 - n}, COUNT(*), NULL FROM b{n}" for n in range(len(before))]
        sql = _LINKED[key] = f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}"
    params = [value for _sql, extra in before for value in extra]
    for f in fields:
        if computed and f.attname == computed[0]:
            params += computed[2]
        else:
            params.append(f.get_db_prep_save(f.pre_save(parent, True), conn))
    for objs, fk in children:
        cfields = [f for f in _insert_fields(type(objs[0])) if f.attname != fk]
        if _rows_shape(objs):
            params += [f.get_db_prep_save(f.pre_save(obj, True), conn) for obj in objs for f in cfields]
        else:
            params += [[f.get_db_prep_save(f.pre_save(obj, True), conn) for obj in objs] for f in cfields]
    for _sql, extra in also:
        params += list(extra)
    with _Statement(conn) as cur:
        cur.execute(sql, params)
        found = cur.fetchall()
    ids: dict[int, list[int]] = {}
    for step, pk, value in found:
        ids.setdefault(step, []).append(pk)
        if step == 0 and computed:
            setattr(parent, computed[0], value)
    counts = [ids[-1 - n][0] for n in range(len(before))]
    _created(parent, ids[0][0])
    for n, (objs, fk) in enumerate(children, start=1):
        # ids come from the table's sequence in insertion order, and rows are inserted in list order
        name = type(objs[0])._meta.get_field(fk).name
        for obj, pk in zip(objs, sorted(ids[n]), strict=True):
            setattr(obj, name, parent)
            _created(obj, pk)
    return counts


VALUES_UP_TO = 8  # children written as VALUES rows up to this many (arrays beyond: adapting them costs more)


def _rows_shape(objs: Sequence[Model]) -> int:
    """The number of rows when they are written as VALUES, 0 when as arrays."""
    return len(objs) if len(objs) <= VALUES_UP_TO else 0


def _cast_type(field: Field, conn) -> str:
    """The type a VALUES parameter is cast to: the column's, but text for varchar(n) (an explicit cast would
    truncate a value that is too long; the insert into the column refuses it, as a plain insert does)."""
    db_type = field.cast_db_type(conn)
    return "text" if db_type.startswith("varchar") else db_type


def _created(obj: Model, pk: int) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
