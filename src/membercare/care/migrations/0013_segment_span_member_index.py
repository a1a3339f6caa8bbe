"""SegmentSpan.member loses its own index: (member, valid_from) serves every lookup by member, and the daily
segments write ~10 % of the spans each day (one index less to keep up). Written by hand: the AlterField Django
generates for db_index=False on PostgreSQL also drops the partial unique index care_span_one_open and re-checks
the foreign key over the whole table; only the index is dropped here."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "care_segmentspan_member_id_20cd1e92"


class Migration(migrations.Migration):

    dependencies = [
        ("care", "0012_segment_cuts"),
        ("members", "0006_merge_0005_card_code_uses_0005_member_dates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f"DROP INDEX IF EXISTS {INDEX}",
                                  reverse_sql=f"CREATE INDEX {INDEX} ON care_segmentspan (member_id)"),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="segmentspan",
                    name="member",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="segment_spans", to="members.member"),
                ),
            ],
        ),
    ]
