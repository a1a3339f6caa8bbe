"""One-time SMS codes (messaging.otp) and the transactional category "verification"."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0004_member_erased_at'),
        ('messaging', '0005_bulkholdout'),
    ]

    operations = [
        # a new category is a choice, nothing in the database: state only (no ALTER on the big message table)
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.AlterField(
                    model_name='message',
                    name='category',
                    field=models.CharField(choices=[('birthday', 'Birthday greeting'), ('holiday', 'Holiday greeting'), ('season', 'Season change'), ('missing_you', 'Missing you'), ('new_arrivals', 'New arrivals'), ('promotion', 'Promotion'), ('callback', 'Callback follow-up'), ('survey', 'Survey link'), ('event', 'Event invitation'), ('verification', 'Verification code')], max_length=20, verbose_name='category'),
                ),
                migrations.AlterField(
                    model_name='messagetemplate',
                    name='category',
                    field=models.CharField(choices=[('birthday', 'Birthday greeting'), ('holiday', 'Holiday greeting'), ('season', 'Season change'), ('missing_you', 'Missing you'), ('new_arrivals', 'New arrivals'), ('promotion', 'Promotion'), ('callback', 'Callback follow-up'), ('survey', 'Survey link'), ('event', 'Event invitation'), ('verification', 'Verification code')], max_length=20, verbose_name='category'),
                ),
        ], database_operations=[]),
        migrations.CreateModel(
            name='OneTimeCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone', models.CharField(max_length=20, verbose_name='mobile phone')),
                ('purpose', models.CharField(max_length=30, verbose_name='purpose')),
                ('ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='client address')),
                ('code_hash', models.CharField(max_length=100)),
                ('failures', models.PositiveSmallIntegerField(default=0)),
                ('created_at', models.DateTimeField(verbose_name='sent at')),
                ('expires_at', models.DateTimeField(verbose_name='valid until')),
                ('used_at', models.DateTimeField(blank=True, null=True, verbose_name='used at')),
                ('member', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='members.member')),
                ('message', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='messaging.message')),
            ],
            options={
                'verbose_name': 'one-time code',
                'verbose_name_plural': 'one-time codes',
                'indexes': [models.Index(fields=['phone', 'purpose', 'created_at'], name='otp_phone_purpose'), models.Index(condition=models.Q(('ip__isnull', False)), fields=['ip', 'created_at'], name='otp_ip')],
            },
        ),
    ]
