"""Migrations that keep the counter open (issue 17): on the big tables a new index is built CONCURRENTLY and no
column changes type (a table rewrite holds an exclusive lock for minutes at 10,000,000 receipts).

Every migration after the ones already applied in the field (GRANDFATHERED: each app's numbers up to these)
is checked: AddIndex, AddConstraint, AlterField and a plain RunSQL that creates an index on a big table are
refused; django.contrib.postgres's AddIndexConcurrently / RemoveIndexConcurrently, or RunSQL/RunPython whose
CREATE INDEX says CONCURRENTLY in a non-atomic migration, are the way.

A column added to an existing table after the last release (RELEASED: each app's numbers at it) must not be
NOT NULL without a default kept in the database (db_default): deploy.md migrates before the web servers restart,
and the old code still running inserts rows without the new column (Django's plain `default` lives in Python
only, so every checkout earning points would fail until the restart)."""

from __future__ import annotations

import inspect
import re

from django.db import migrations
from django.db.migrations.loader import MigrationLoader

BIG_TABLES = {
    ("sales", "receipt"), ("sales", "receiptline"), ("sales", "receiptadjustment"), ("sales", "receiptpayment"),
    ("loyalty", "pointsentry"), ("loyalty", "card"), ("loyalty", "loyaltyaccount"), ("members", "member"),
    ("care", "task"), ("care", "contact"), ("care", "purchaseday"),
    ("care", "brandpurchaseday"), ("care", "brandpurchasesummary"), ("care", "seriespurchaseday"),
    ("messaging", "message"),
}
# each app's migrations up to this number were written before the check (some of them build indexes the
# blocking way: they ran when the tables were small or at installation)
GRANDFATHERED = {"analytics": 2, "campaigns": 2, "care": 5, "core": 2, "events": 1, "loyalty": 5, "members": 4,
                 "messaging": 5, "org": 1, "prediction": 2, "privacy": 1, "sales": 9, "service": 1,
                 "storedvalue": 0, "membercentre": 0, "audiences": 0}
# each app's last migration in the release in the field (8a53602): later ones have not run anywhere yet
RELEASED = {"analytics": 2, "audiences": 1, "campaigns": 2, "care": 11, "core": 2, "events": 1, "loyalty": 7,
            "membercentre": 1, "members": 6, "messaging": 7, "org": 2, "prediction": 5, "privacy": 2, "sales": 9,
            "service": 3, "storedvalue": 6}
BLOCKING = (migrations.AddIndex, migrations.AddConstraint, migrations.AlterField, migrations.RemoveIndex)


def _sql_of(op) -> str:
    if isinstance(op, migrations.RunSQL):
        sql = op.sql
        return " ".join(sql) if isinstance(sql, list | tuple) else str(sql)
    if isinstance(op, migrations.RunPython):
        module = inspect.getmodule(op.code)
        return inspect.getsource(module) if module else ""
    return ""


def problems_of(app: str, migration) -> list[str]:
    """What in `migration` would lock a big table while it runs (empty: nothing)."""
    from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently

    found = []
    for op in migration.operations:
        model = getattr(op, "model_name", None) or getattr(op, "name", "")
        concurrent = isinstance(op, AddIndexConcurrently | RemoveIndexConcurrently)
        if concurrent and getattr(migration, "atomic", True):
            found.append(f"{type(op).__name__} inside a transaction: set atomic = False")
        if isinstance(op, BLOCKING) and not concurrent and (app, str(model).lower()) in BIG_TABLES:
            found.append(f"{type(op).__name__} on {app}.{model}: use AddIndexConcurrently in a non-atomic "
                         "migration (or no type change on a big table)")
        sql = _sql_of(op)
        for table in re.findall(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)(?:IF NOT EXISTS\s+)?\S+\s+ON\s+(\w+)",
                                sql, re.I):
            if tuple(table.lower().split("_", 1)) in BIG_TABLES:
                found.append(f"CREATE INDEX without CONCURRENTLY on {table}")
        if re.search(r"CONCURRENTLY", sql, re.I) and getattr(migration, "atomic", True):
            found.append("CREATE INDEX CONCURRENTLY inside a transaction: set atomic = False")
    return found


def columns_old_code_cannot_insert(migration) -> list[str]:
    """The NOT NULL columns `migration` adds to tables that existed before it without a database default."""
    from django.db.models import NOT_PROVIDED

    created = {op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)}
    found = []
    for op in migration.operations:
        ops = op.database_operations if isinstance(op, migrations.SeparateDatabaseAndState) else [op]
        for added in ops:
            if not isinstance(added, migrations.AddField) or added.model_name.lower() in created:
                continue
            field = added.field
            if not field.null and not field.many_to_many and field.db_default is NOT_PROVIDED:
                found.append(f"{added.model_name}.{added.name} is NOT NULL without db_default: the code still "
                             "running during the deploy cannot insert a row")
    return found


def test_new_columns_let_the_old_code_insert_during_a_deploy():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offending = {}
    for (app, name), migration in loader.disk_migrations.items():
        if not migration.__module__.startswith("membercare."):
            continue
        number = int(name[:4]) if name[:4].isdigit() else 0
        if number <= RELEASED.get(app, 0):
            continue
        if problems := columns_old_code_cannot_insert(migration):
            offending[(app, name)] = problems
    assert not offending, offending


def test_the_deploy_check_catches_a_python_only_default():
    from django.db import models

    class PythonDefault(migrations.Migration):
        operations = [migrations.AddField("pointsentry", "source", models.CharField(max_length=20, default=""))]

    class DatabaseDefault(migrations.Migration):
        operations = [migrations.AddField("pointsentry", "source",
                                          models.CharField(max_length=20, default="", db_default=""))]

    class Nullable(migrations.Migration):
        operations = [migrations.AddField("pointsentry", "note", models.CharField(max_length=20, null=True))]

    class NewTable(migrations.Migration):
        operations = [migrations.CreateModel("Fresh", [("id", models.BigAutoField(primary_key=True))]),
                      migrations.AddField("fresh", "name", models.CharField(max_length=20, default=""))]

    assert columns_old_code_cannot_insert(PythonDefault("x", "loyalty"))
    assert not columns_old_code_cannot_insert(DatabaseDefault("x", "loyalty"))
    assert not columns_old_code_cannot_insert(Nullable("x", "loyalty"))
    assert not columns_old_code_cannot_insert(NewTable("x", "loyalty"))


def test_new_migrations_never_block_the_big_tables():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offending = {}
    for (app, name), migration in loader.disk_migrations.items():
        if app not in GRANDFATHERED and not app.startswith("membercare"):
            if migration.__module__.startswith("membercare."):
                offending[(app, name)] = ["an app missing from GRANDFATHERED: add it with 0"]
            continue
        number = int(name[:4]) if name[:4].isdigit() else 0
        if number <= GRANDFATHERED[app]:
            continue
        if problems := problems_of(app, migration):
            offending[(app, name)] = problems
    assert not offending, offending


def test_the_check_catches_a_blocking_index_and_passes_a_concurrent_one():
    from django.contrib.postgres.operations import AddIndexConcurrently
    from django.db import models

    class Blocking(migrations.Migration):
        operations = [migrations.AddIndex("receipt", models.Index(fields=["clerk"], name="r_clerk"))]

    class Concurrent(migrations.Migration):
        atomic = False
        operations = [AddIndexConcurrently("receipt", models.Index(fields=["clerk"], name="r_clerk"))]

    class RawBlocking(migrations.Migration):
        operations = [migrations.RunSQL("CREATE INDEX r_x ON sales_receipt (clerk_id)")]

    class RawInTransaction(migrations.Migration):
        operations = [migrations.RunSQL("CREATE INDEX CONCURRENTLY r_x ON sales_receipt (clerk_id)")]

    class Retyped(migrations.Migration):
        operations = [migrations.AlterField("member", "name", models.CharField(max_length=80))]

    assert problems_of("sales", Blocking("x", "sales")) and not problems_of("sales", Concurrent("x", "sales"))
    assert problems_of("sales", RawBlocking("x", "sales")) and problems_of("sales", RawInTransaction("x", "sales"))
    assert problems_of("members", Retyped("x", "members"))
    assert not problems_of("org", Blocking("x", "org"))  # a small table: nothing to fear
