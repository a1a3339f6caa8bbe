"""Models of the prediction app: the fitted parameters per brand and every member's current figures."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PredictionFit(models.Model):
    """One fit of BG/NBD and Gamma-Gamma on a brand's history (kept as history; the latest is in force).

    params = {"model": "bgnbd" | "mbgnbd", "<model>": {"r", "alpha", "a", "b"}, "gammagamma": {"p", "q", "v"} or
    None, "time_unit": "week", "value_cutoff": the brand's 80th percentile of value if active (see selectors)}.
    model / holdout / quality: the purchase model chosen by the hold-out check (prediction.holdout), the check's
    figures (per calibration frequency class: members, actual and predicted hold-out purchases; each model's
    error) and its verdict: "good", "poor" (members' probabilities are not shown as facts) or "unchecked"."""

    brand = models.ForeignKey("org.Brand", on_delete=models.CASCADE, related_name="+", verbose_name=_("brand"))
    as_of = models.DateField(_("data up to"))
    params = models.JSONField(_("parameters"), default=dict)
    n_members = models.PositiveIntegerField(_("members"), default=0)
    n_repeat = models.PositiveIntegerField(_("members with repeat purchases"), default=0)
    loglik = models.FloatField(_("log-likelihood"), null=True, blank=True)
    gg_loglik = models.FloatField(null=True, blank=True)
    converged = models.BooleanField(_("converged"), default=False)
    # prediction.optim: "ok", "limit" (a maximum at the model's limit case: params["limits"] names the
    # parameters, e.g. {"bgnbd": ["a", "b"]}) or "failed" (no maximum found: member figures not replaced)
    status = models.CharField(_("fit status"), max_length=8, default="ok")
    seconds = models.JSONField(default=dict, blank=True)  # seconds per step (summary, fit, write)
    model = models.CharField(_("purchase model"), max_length=8, default="bgnbd")
    holdout = models.JSONField(_("hold-out check"), default=dict, blank=True)
    quality = models.CharField(_("hold-out verdict"), max_length=10, default="unchecked")
    fitted_at = models.DateTimeField(_("fitted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("prediction fit")
        verbose_name_plural = _("prediction fits")
        indexes = [models.Index(fields=["brand", "-fitted_at"], name="prediction_fit_brand_latest")]

    def __str__(self) -> str:
        return f"{self.brand_id} @ {self.fitted_at:%Y-%m-%d %H:%M}"


class MemberPrediction(models.Model):
    """A member's current predicted figures at a brand (replaced brand by brand on each recompute).

    p_alive: probability the member still buys at the brand (p_alive_previous: the figure of the recompute
    before, at previous_computed_at); expected_purchases_12m: purchase days expected
    in the next 12 months; expected_spend: expected value of one purchase day; clv: the two multiplied
    (see prediction.clv). frequency/recency_days/age_days: the summary the figures come from."""

    pk = models.CompositePrimaryKey("member", "brand")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    brand = models.ForeignKey("org.Brand", on_delete=models.CASCADE, related_name="+", db_index=False,
                              db_constraint=False)
    p_alive = models.FloatField(_("probability active"))
    expected_purchases_12m = models.FloatField(_("expected purchases in 12 months"))
    expected_spend = models.DecimalField(_("expected spend per purchase"), max_digits=12, decimal_places=2)
    clv = models.DecimalField(_("expected value in 12 months"), max_digits=14, decimal_places=2)
    # clv / p_alive: what the member is worth over 12 months if still active (what is at stake)
    value_active = models.DecimalField(_("value if still active"), max_digits=14, decimal_places=2, null=True,
                                       blank=True)
    # the member's P(alive) in the rows this recompute replaced, and when those were computed (None: the member
    # had no figures at the brand before); what "has fallen" is measured against (prediction.selectors)
    p_alive_previous = models.FloatField(_("previous probability active"), null=True, blank=True)
    previous_computed_at = models.DateTimeField(_("previous computation"), null=True, blank=True)
    frequency = models.PositiveIntegerField(_("repeat purchase days"), default=0)
    recency_days = models.PositiveIntegerField(default=0)
    age_days = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("member prediction")
        verbose_name_plural = _("member predictions")
        indexes = [models.Index(fields=["p_alive"], name="prediction_member_p_alive")]
