# Card levels as the chain's data (issue 19): Card.kind and CardApplication.card_kind hold any level code of the
# programme; their fixed choices go. Choices live in Django's state only: nothing changes in the database (no
# ALTER on the big loyalty_card table), hence state operations alone.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0007_perk_use'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='card',
                name='kind',
                field=models.CharField(max_length=20, verbose_name='card'),
            ),
            migrations.AlterField(
                model_name='cardapplication',
                name='card_kind',
                field=models.CharField(max_length=20, verbose_name='card'),
            ),
        ]),
    ]
