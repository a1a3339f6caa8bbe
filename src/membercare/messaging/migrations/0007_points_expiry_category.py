"""The category "points_expiry" (care's points_expiring rule, issue 19) and its default SMS template."""

from django.db import migrations, models
from django.utils import timezone

BODY = "{title}您好，您有{points_expiring}积分将于{expires_on}前到期，可在门店抵用消费或兑换礼品。{store} {clerk}"


def install_template(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    if not MessageTemplate.objects.filter(category="points_expiry").exists():
        MessageTemplate.objects.create(name="积分到期提醒", category="points_expiry", channel="sms", body=BODY,
                                       updated_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0006_one_time_codes'),
    ]

    operations = [
        # a new category is a choice, nothing in the database: state only (no ALTER on the big message table)
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AlterField(
            model_name='message',
            name='category',
            field=models.CharField(choices=[('birthday', 'Birthday greeting'), ('holiday', 'Holiday greeting'), ('season', 'Season change'), ('missing_you', 'Missing you'), ('new_arrivals', 'New arrivals'), ('promotion', 'Promotion'), ('callback', 'Callback follow-up'), ('survey', 'Survey link'), ('event', 'Event invitation'), ('verification', 'Verification code'), ('points_expiry', 'Points expiring')], max_length=20, verbose_name='category'),
        ),
        migrations.AlterField(
            model_name='messagetemplate',
            name='category',
            field=models.CharField(choices=[('birthday', 'Birthday greeting'), ('holiday', 'Holiday greeting'), ('season', 'Season change'), ('missing_you', 'Missing you'), ('new_arrivals', 'New arrivals'), ('promotion', 'Promotion'), ('callback', 'Callback follow-up'), ('survey', 'Survey link'), ('event', 'Event invitation'), ('verification', 'Verification code'), ('points_expiry', 'Points expiring')], max_length=20, verbose_name='category'),
        ),
            ], database_operations=[]),
        migrations.RunPython(install_template, migrations.RunPython.noop),
    ]
