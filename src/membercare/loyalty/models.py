from django.db import models
from django.utils.translation import gettext_lazy as _


class CardKind(models.TextChoices):
    ACCUMULATION = "accumulation", _("Accumulation card")
    ELITE = "elite", _("Elite card")
    DIAMOND = "diamond", _("Diamond card")
    KNIGHT = "knight", _("Knight card")


class CardStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting signature")
    ACTIVE = "active", _("Active")
    VOID = "void", _("Void")
    EXPIRED = "expired", _("Expired")


class Card(models.Model):
    """A membership card. The loyalty engine (cards, tiers, points) builds on this record."""

    number = models.CharField(_("card number"), max_length=20, unique=True)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="cards")
    kind = models.CharField(_("card"), max_length=20, choices=CardKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    brand = models.ForeignKey("org.Brand", on_delete=models.PROTECT, related_name="cards", verbose_name=_("brand"))
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        self.number = normalize_card_number(self.number)  # looked up by exact match, so one spelling
        super().save(*args, **kwargs)


def normalize_card_number(value: str) -> str:
    return "".join((value or "").split()).replace("-", "").upper()
