"""Hand-written SQL for the checkout's hot path, with rows converted exactly as the ORM converts them.

The POS checkout runs a dozen statements per sale; building each one with the ORM costs more CPU than
PostgreSQL spends executing it. The few statements on that path are written out here once; their
columns are named as model fields, so every value comes back as the ORM would return it (Decimal
amounts, aware datetimes, booleans on SQLite too), and partial model instances are built with
`Model.from_db` (the other fields are deferred: loaded on access, never overwritten by a save).
Parameters and inserted values are prepared per field as the ORM prepares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import DEFERRED, Field, Model

_CONVERTERS: dict[tuple[str, tuple[Field, ...]], list] = {}


def db():
    """The default connection itself (each attribute read through django.db.connection costs a lookup)."""
    return connections[DEFAULT_DB_ALIAS]


def _converters(conn, fields: tuple[Field, ...]) -> list:
    """Per column that needs one: (index, converter functions, column expression), as the ORM applies them."""
    key = (conn.vendor, fields)
    found = _CONVERTERS.get(key)
    if found is None:
        found = []
        for i, field in enumerate(fields):
            col = field.get_col(field.model._meta.db_table)
            functions = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if functions:
                found.append((i, functions, col))
        _CONVERTERS[key] = found
    return found


def convert(conn, row: Sequence[Any], fields: tuple[Field, ...]) -> list[Any]:
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
    Django's wrapper stays around the cursor (errors, query logging, execute wrappers)."""
    if conn.vendor != "postgresql":
        return conn.cursor()
    conn.ensure_connection()
    pg = conn.connection
    if pg.prepare_threshold is None:  # Django turns preparing off; only these statements ask for it
        pg.prepare_threshold = 2**31 - 1
    return conn._prepare_cursor(_preparing_cursor_class()(pg))


_PREPARING: list[type] = []


def _preparing_cursor_class() -> type:
    if not _PREPARING:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=True, binary=None):
                return super().execute(query, params, prepare=prepare, binary=binary)

        _PREPARING.append(PreparingCursor)
    return _PREPARING[0]


def fetch_one(sql: str, params: Sequence[Any], fields: tuple[Field, ...]) -> list[Any] | None:
    conn = db()
    with cursor(conn) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return None if row is None else convert(conn, row, fields)


def fetch_all(sql: str, params: Sequence[Any], fields: tuple[Field, ...]) -> list[list[Any]]:
    conn = db()
    with cursor(conn) as cur:
        cur.execute(sql, params)
        found = cur.fetchall()
    return [convert(conn, row, fields) for row in found]


def execute(sql: str, params: Sequence[Any]) -> int:
    """A statement without a result; the number of rows it changed."""
    with cursor(db()) as cur:
        cur.execute(sql, params)
        return cur.rowcount


_INSTANCE_LAYOUT: dict[tuple[type[Model], tuple[Field, ...]], tuple[list[str], list[int | None]]] = {}


def instance(model: type[Model], fields: tuple[Field, ...], values: Sequence[Any]) -> Model:
    """A model instance from converted values of some of its fields (the rest deferred)."""
    layout = _INSTANCE_LAYOUT.get((model, fields))
    if layout is None:
        position = {f.attname: i for i, f in enumerate(fields)}
        layout = _INSTANCE_LAYOUT[(model, fields)] = (
            list(position), [position.get(f.attname) for f in model._meta.concrete_fields])
    names, order = layout
    return model.from_db(DEFAULT_DB_ALIAS, names, [DEFERRED if i is None else values[i] for i in order])


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
        fields = [f for f in model._meta.concrete_fields if not f.db_returning]  # not the auto id
        qn = conn.ops.quote_name
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
               f"VALUES {', '.join([one] * len(objs))} RETURNING {qn(model._meta.pk.column)}")
        found = _INSERTS[key] = (sql, fields)
    sql, fields = found
    params = [field.get_db_prep_save(field.pre_save(obj, True), conn) for obj in objs for field in fields]
    with cursor(conn) as cur:
        cur.execute(sql, params)
        pks = [r[0] for r in cur.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
