"""PostgreSQL only: an index for "SKU starts with" at the counter (UPPER(sku) LIKE 'AB-CD%'), which the unique
index on sku cannot serve outside the C collation. Built CONCURRENTLY: the catalogue stays writable."""

from django.db import migrations

CREATE = ("CREATE INDEX CONCURRENTLY IF NOT EXISTS sales_product_sku_upper_prefix "
          "ON sales_product (UPPER(sku) text_pattern_ops)")
DROP = "DROP INDEX CONCURRENTLY IF EXISTS sales_product_sku_upper_prefix"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("sales", "0008_product_barcode_payments")]
    operations = [migrations.RunPython(forwards, backwards)]
