"""Issue 20: Women's Day reaches women. The saved audience 女性会员 (gender: female), chain-wide, and the
festival 妇女节 (care.Festival, seeded by care 0008) restricted to it."""

from django.db import migrations
from django.utils import timezone

WOMEN = {"include": {"op": "and", "items": [{"type": "gender", "params": {"values": ["F"]}}]},
         "exclude": {"op": "or", "items": []}}


def women(apps, schema_editor):
    Audience = apps.get_model("audiences", "Audience")
    Festival = apps.get_model("care", "Festival")
    festival = Festival.objects.filter(code="womens_day").first()
    if festival is None or festival.audience_id:
        return
    now = timezone.now()
    audience = Audience.objects.create(name="女性会员", definition=WOMEN, created_at=now, updated_at=now)
    Festival.objects.filter(pk=festival.pk).update(audience_id=audience.pk)


class Migration(migrations.Migration):

    dependencies = [
        ("audiences", "0001_initial"),
        ("care", "0008_festivals"),
    ]

    operations = [
        migrations.RunPython(women, migrations.RunPython.noop),
    ]
