"""Each member's P(alive) of the recompute before (issue 23 item 2: "has fallen"): nullable columns only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('prediction', '0004_value_active'),
    ]

    operations = [
        migrations.AddField(
            model_name='memberprediction',
            name='p_alive_previous',
            field=models.FloatField(blank=True, null=True, verbose_name='previous probability active'),
        ),
        migrations.AddField(
            model_name='memberprediction',
            name='previous_computed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='previous computation'),
        ),
    ]
