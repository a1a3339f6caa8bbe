from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Company(models.Model):
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="brands", verbose_name=_("company"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="sub_brands",
        verbose_name=_("main brand"), help_text=_("Set for a sub-brand (e.g. 爵度)."),
    )

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Region(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="regions", verbose_name=_("company"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    code = models.CharField(_("store code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="stores", verbose_name=_("brand"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="stores", verbose_name=_("region"))
    networked = models.BooleanField(
        _("networked"), default=True,
        help_text=_("Networked stores record sales live; offline stores upload them in a batch."),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    self_operated = models.BooleanField(
        _("self-operated"), default=True,
        help_text=_("Run by the chain itself. A franchise store is not: the birthday privilege is used at "
                    "self-operated stores only when the programme says so."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLERK = "clerk", _("Store clerk")
    MANAGER = "manager", _("Store manager")
    SPECIALIST = "specialist", _("VIP specialist")
    ADMIN = "admin", _("Administrator")


class Staff(AbstractUser):
    """A person who logs in. Clerks and managers work in stores; the specialist and admin see the chain."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CLERK)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    stores = models.ManyToManyField(Store, blank=True, related_name="staff", verbose_name=_("stores"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def has_perm(self, perm, obj=None) -> bool:
        """The administrator role manages users, stores and keys in Django admin without per-model grants."""
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)

    @property
    def is_chain_wide(self) -> bool:
        return self.role in (Role.SPECIALIST, Role.ADMIN) or self.is_superuser
