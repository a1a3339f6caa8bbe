from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from membercare.core.crypto import EncryptedTextField
from membercare.core.idnumber import mask_id_number
from membercare.core.phone import mask_phone


class Gender(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class DecisionStyle(models.TextChoices):
    HESITANT = "hesitant", _("Hesitant (犹豫型)")
    DECISIVE = "decisive", _("Decisive (果断型)")
    ACCOMPANIED = "accompanied", _("Comes with family or friends (陪同型)")
    INDEPENDENT = "independent", _("Independent (独立型)")


class SkinTone(models.TextChoices):
    FAIR = "fair", _("Fair")
    MEDIUM = "medium", _("Medium")
    WHEAT = "wheat", _("Wheat")
    DARK = "dark", _("Dark")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class ContactTime(models.TextChoices):
    ANY = "any", _("Any time")
    MORNING = "morning", _("Morning")
    NOON = "noon", _("Lunch break")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")
    WEEKEND = "weekend", _("Weekends")


class Tag(models.Model):
    name = models.CharField(_("tag"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberManager(models.Manager):
    """`Member.objects`: the members who exist for the business, i.e. not erased.

    Searches, lists, audiences, rules and exports all start here, so an erased member (PIPL, see
    membercare.privacy) never reappears in any of them. Receipts, ledgers and other rows keep pointing at the
    anonymised row through their foreign keys (Django follows those with `Member.all_objects`).
    """

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(erased_at__isnull=True)


class Member(models.Model):
    """One person = one member (the phone number is unique). Chain-wide: cards work in every store."""

    member_no = models.CharField(_("member number"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11, unique=True)
    phone_last4 = models.CharField(max_length=4, db_index=True, editable=False)
    # unigrams and bigrams of the name, space separated: lets PostgreSQL find "part of a name"
    # through a GIN index (Chinese names are too short for trigrams).
    name_grams = models.TextField(editable=False, default="")
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birthday = models.DateField(_("birthday (solar)"))
    lunar_birthday_month = models.PositiveSmallIntegerField(_("lunar birthday month"), null=True, blank=True)
    lunar_birthday_day = models.PositiveSmallIntegerField(_("lunar birthday day"), null=True, blank=True)
    lunar_birthday_leap = models.BooleanField(_("leap month"), default=False)
    celebrates_lunar = models.BooleanField(
        _("celebrates the lunar birthday"), default=False,
        help_text=_("When set, birthday dates (greetings, birthday month) follow the lunar birthday."),
    )

    address = models.CharField(_("address"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=50, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    height_cm = models.PositiveSmallIntegerField(_("height (cm)"), null=True, blank=True)
    weight_kg = models.PositiveSmallIntegerField(_("weight (kg)"), null=True, blank=True)
    skin_tone = models.CharField(_("skin tone"), max_length=10, choices=SkinTone.choices, blank=True)
    clothing_size = models.CharField(_("clothing size"), max_length=20, blank=True)
    shoe_size = models.CharField(_("shoe size"), max_length=10, blank=True)
    first_purchase_style = models.CharField(_("style of first purchase"), max_length=50, blank=True)
    personality = models.CharField(_("personality"), max_length=100, blank=True)
    decision_style = models.CharField(_("decision style"), max_length=20, choices=DecisionStyle.choices, blank=True)
    shopping_time = models.CharField(_("habitual shopping time"), max_length=100, blank=True)
    shopping_places = models.CharField(_("habitual shopping places"), max_length=200, blank=True)
    other_brands = models.CharField(_("other brands bought"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="members", verbose_name=_("tags"))

    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    preferred_time = models.CharField(
        _("preferred contact time"), max_length=10, choices=ContactTime.choices, default=ContactTime.ANY
    )
    consent_phone = models.BooleanField(_("consents to marketing calls"), default=False)
    consent_sms = models.BooleanField(_("consents to marketing SMS"), default=False)
    consent_email = models.BooleanField(_("consents to marketing email"), default=False)
    consent_wechat = models.BooleanField(_("consents to marketing WeChat"), default=False)

    home_store = models.ForeignKey(
        "org.Store", on_delete=models.PROTECT, related_name="members", verbose_name=_("registration store")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_members", verbose_name=_("relationship owner"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="registered_members", verbose_name=_("registered by"),
    )
    created_at = models.DateTimeField(_("registered at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # set when the member's personal data was erased on request (PIPL); the row stays, anonymised, so that
    # receipts and the points ledger keep their member
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)

    objects = MemberManager()  # the default manager (declared first): erased members left out
    all_objects = models.Manager()  # noqa: DJ012 (a manager, not a field) erased members too: privacy, audits

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        base_manager_name = "all_objects"
        indexes = [models.Index(fields=["home_store", "created_at"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.member_no})"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def title(self) -> str:
        """Surname and title, as a clerk addresses the member (王女士 / 王先生)."""
        from django.utils.translation import gettext

        surname = self.name[:1]
        return gettext("%(surname)s (Ms.)") % {"surname": surname} if self.gender == Gender.FEMALE else \
            gettext("%(surname)s (Mr.)") % {"surname": surname}


class MemberChange(models.Model):
    """Edit history: who changed what, when. Sensitive values are stored masked."""

    class Action(models.TextChoices):
        CREATE = "create", _("Registered")
        UPDATE = "update", _("Edited")
        IMPORT_MERGE = "merge", _("Merged from import")
        IMPORT_CREATE = "import", _("Imported")
        ERASE = "erase", _("Personal data erased")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(db_index=True)
    changes = models.JSONField(default=dict)  # {field: [old, new]}

    class Meta:
        ordering = ["-changed_at", "-id"]


class ExportLog(models.Model):
    """Every export of personal data (PIPL): who, when, which filter, how many rows, masked or full."""

    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    exported_at = models.DateTimeField()
    kind = models.CharField(max_length=30)
    filters = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField()
    full_data = models.BooleanField(default=False)

    class Meta:
        ordering = ["-exported_at"]


class SensitiveAccessLog(models.Model):
    """Every view of a full ID number (and of a full phone on request) is logged."""

    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="sensitive_views")
    field = models.CharField(max_length=20)
    viewed_at = models.DateTimeField()

    class Meta:
        ordering = ["-viewed_at"]


class ImportJob(models.Model):
    """An uploaded member spreadsheet: previewed first (dry run), imported only when confirmed."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected")

    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=200)
    default_store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    summary = models.JSONField(default=dict)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class CardCodeUse(models.Model):
    """A card code (members.cardcode) that paid a sale: written in the sale's transaction, unique, so the same
    code cannot pay twice on any server (a rolled-back sale leaves no row); purged after a day."""

    code = models.CharField(max_length=20, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    used_at = models.DateTimeField(db_index=True)


MAX_MEMBER_DATES = 5  # dates a member may give us (the profile shows and edits them)


class MemberDate(models.Model):
    """A date the member asked us to remember (seed 000: 纪念日), e.g. a wedding anniversary or a child's
    birthday: greeted every year by the care rule member_dates (care.rules.dates). At most MAX_MEMBER_DATES."""

    class Calendar(models.TextChoices):
        SOLAR = "solar", _("Solar calendar")
        LUNAR = "lunar", _("Lunar calendar")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="dates")
    name = models.CharField(_("occasion"), max_length=30)
    calendar = models.CharField(_("calendar"), max_length=5, choices=Calendar.choices, default=Calendar.SOLAR)
    month = models.PositiveSmallIntegerField(_("month"))
    day = models.PositiveSmallIntegerField(_("day"))
    leap = models.BooleanField(_("leap month"), default=False)  # lunar only
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("member's date")
        verbose_name_plural = _("member's dates")
        ordering = ["month", "day", "pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.month:02d}-{self.day:02d}"
