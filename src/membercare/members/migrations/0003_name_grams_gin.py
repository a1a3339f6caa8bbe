"""PostgreSQL only: a GIN index over the name's n-grams, so "part of a name" search uses an index."""

from django.db import migrations

CREATE = ("CREATE INDEX IF NOT EXISTS members_member_name_grams_gin "
          "ON members_member USING gin (string_to_array(name_grams, ' '))")
DROP = "DROP INDEX IF EXISTS members_member_name_grams_gin"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("members", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
