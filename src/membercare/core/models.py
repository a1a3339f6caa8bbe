from django.db import models


class NumberSequence(models.Model):
    """Gap-tolerant number blocks (member numbers, receipt numbers) that are safe under concurrency."""

    name = models.CharField(max_length=30, primary_key=True)
    last = models.BigIntegerField(default=0)
