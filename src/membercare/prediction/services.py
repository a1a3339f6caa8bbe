"""Recompute member value predictions: per brand, summarise the history in SQL, check BG/NBD and MBG/NBD on
the last half year held out (prediction.holdout: fit on the history before it, compare the predicted with
the actual repeat purchases per frequency class) and fit the model that predicted it better on the whole
history, fit Gamma-Gamma (prediction.gammagamma), predict for every member and replace the brand's
MemberPrediction rows in bulk (COPY on PostgreSQL), each member's P(alive) of the rows replaced kept as
p_alive_previous (what "has fallen" is measured against). The fit records the chosen model, the check's figures
and its verdict ("good", "poor", "unchecked"): pages and the care rule use members' probabilities as facts
only when it is "good".

Schedule: weekly (celery beat "prediction-weekly", Monday 04:00 Asia/Shanghai, after the care daily job),
from the prediction page (a background job with progress, core.jobs), or `membercare predictions_recompute`.
Parameters move slowly; the figures of a member change with each purchase, so a weekly run keeps them
within a week. Each brand is written in its own transaction (a page polling the job sees the progress).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.core.locks import exclusive
from membercare.org.models import Brand

from . import bgnbd, clv, gammagamma, holdout, optim
from .models import MemberPrediction, PredictionFit
from .summary import BrandSummary, brand_summary

log = logging.getLogger(__name__)

MIN_MEMBERS = 20  # fewer members than this at a brand: no fit (the estimates would mean nothing)
MIN_REPEAT = 10  # fewer members with repeat purchases: no Gamma-Gamma fit; spend = the brand's mean
MONTHLY_DISCOUNT = 0.0  # CLV over 12 months, undiscounted (see prediction.clv)
WRITE_BATCH = 5000
VALUE_QUANTILE = 0.8  # "high value": value if still active at or above the brand's 80th percentile

Progress = Callable[..., None]

STEP_LABELS = {
    "summary": _("summarising purchase history"),
    "compress": _("grouping identical histories"),
    "bgnbd": _("checking the purchase models on the last half year and fitting the better one"),
    "gammagamma": _("fitting the spend model (Gamma-Gamma)"),
    "predict": _("predicting for every member"),
    "write": _("saving the predictions"),
    "done": _("done"),
}


def _noop(*_args: Any, **_kwargs: Any) -> None:
    return None


def predictions_recompute(brand: Brand | int | None = None, progress: Progress | None = None,
                          as_of: dt.date | None = None) -> dict[str, Any]:
    """Fit and write the predictions of one brand (or every brand with stores); returns per brand a summary
    {"members", "repeat", "converged", "status", "params", "seconds"} or {"skipped": reason}.
    Status (prediction.optim): "ok"; "limit" when a maximum is the model's limit case (members the data cannot
    tell apart in dropout, purchase rate or spend: the limit is used, and the page says so); "failed" when no
    maximum was found: the fit is recorded, the members' figures are not replaced.
    A brand whose recompute is running elsewhere (another worker, the weekly job) is skipped: {"skipped":
    "already running"}. `progress(done, total, message)` is called after each step (6 steps per brand)."""
    progress = progress or _noop
    as_of = as_of or timezone.localdate()
    if brand is None:
        brands = list(Brand.objects.filter(stores__isnull=False).distinct().order_by("pk"))
    else:
        brands = [brand if isinstance(brand, Brand) else Brand.objects.get(pk=brand)]
    steps = 6
    out: dict[str, Any] = {}
    for i, b in enumerate(brands):
        def step(k: int, message: str, _i: int = i, _b: Brand = b) -> None:
            progress(_i * steps + k, len(brands) * steps, f"{_b.name}: {STEP_LABELS.get(message, message)}")

        with exclusive(f"predictions:{b.pk}") as got:  # one recompute of a brand at a time, deployment-wide
            out[b.code] = recompute_brand(b, as_of, step) if got else {"skipped": "already running"}
        step(steps, "done")
    return out


def recompute_brand(brand: Brand, as_of: dt.date, step: Callable[[int, str], None] = _noop) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = round(now - started, 3)
        started = now

    step(0, "summary")
    s = brand_summary(brand.pk, as_of)
    lap("summary")
    if len(s) < MIN_MEMBERS:
        log.info("predictions: %s has %d members with purchases, fewer than %d: skipped", brand.code, len(s),
                 MIN_MEMBERS)
        return {"skipped": "too few members", "members": len(s)}
    step(1, "compress")
    c = bgnbd.compress(s.x, s.t_x, s.T)
    lap("compress")
    step(2, "bgnbd")
    check = holdout.brand_check(brand.pk, as_of)
    lap("holdout_check")
    model = holdout.MODELS[check.model]
    bg = model.fit(c)
    lap("bgnbd_fit")
    step(3, "gammagamma")
    n_repeat = int((s.x > 0).sum())
    gg = gammagamma.fit(gammagamma.prepare(s.x, s.monetary)) if n_repeat >= MIN_REPEAT else None
    lap("gammagamma_fit")
    status = worst_status(bg, gg)
    limits = {check.model: list(bg.limits), "gammagamma": list(gg.limits) if gg else []}
    params = {"model": check.model, check.model: bg.params, "gammagamma": gg.params if gg else None,
              "time_unit": "week", "source": s.source, "rows": len(c), "monthly_discount": MONTHLY_DISCOUNT,
              "limits": limits}
    step(4, "predict")
    figures = (predict(bg.params, gg.params if gg and gg.converged else None, s, c, check.model)
               if status != "failed" else None)
    if figures is not None:
        params["value_cutoff"] = round(float(np.quantile(figures["value_active"], VALUE_QUANTILE)), 2)
    lap("predict")
    step(5, "write")
    with transaction.atomic():
        if figures is not None:  # a failed fit leaves the members' last good figures in place
            write_predictions(brand.pk, s, figures)
        else:
            log.warning("predictions: %s: the fit found no maximum (%s; %s): member figures kept", brand.code,
                        bg.message, gg.message if gg else "-")
        fit = PredictionFit.objects.create(
            brand=brand, as_of=as_of, n_members=len(s), n_repeat=n_repeat, loglik=bg.loglik,
            gg_loglik=gg.loglik if gg else None, converged=status != "failed", status=status, params=params,
            model=check.model, holdout=check.as_json(), quality=check.verdict)
    lap("write")
    fit.seconds = seconds
    fit.save(update_fields=["seconds"])
    return {"members": len(s), "repeat": n_repeat, "converged": fit.converged, "status": status,
            "model": check.model, "quality": check.verdict, "error": check.error, "params": fit.params,
            "seconds": seconds}


def worst_status(bg: optim.Fit, gg: optim.Fit | None) -> str:
    """The fit's overall status: "failed" if BG/NBD failed; a failed Gamma-Gamma only loses the spend model
    (members' own means are used, as with too few repeat buyers) and counts as "limit"; else the worse."""
    if bg.status == "failed":
        return "failed"
    if bg.status == "limit" or (gg is not None and gg.status != "ok"):
        return "limit"
    return "ok"


def predict(bg_params: dict, gg_params: dict | None, s: BrandSummary, c: bgnbd.Compressed,
            model: str = "bgnbd") -> dict[str, np.ndarray]:
    """P(alive) and expected purchases once per distinct (x, t_x, T) row, then per member; spend and CLV, and
    the value if still active (CLV / P(alive): the purchases expected of an active member × spend)."""
    m = holdout.MODELS[model]
    p_rows = m.p_alive(bg_params, c.x, c.t_x, c.T)
    e_rows = m.expected_purchases(bg_params, 12 * clv.WEEKS_PER_MONTH, c.x, c.t_x, c.T)
    purchases = e_rows[c.inverse]
    if gg_params is not None:
        spend = gammagamma.expected_spend(gg_params, s.x, s.monetary)
    else:  # too few repeat buyers to fit spend: their own mean, else the brand's mean
        mean = float(s.monetary[s.x > 0].mean()) if (s.x > 0).any() else 0.0
        spend = np.where(s.x > 0, s.monetary, mean)
    if MONTHLY_DISCOUNT > 0:
        purchases, _spend, value = clv.clv(bg_params, gg_params, s.x, s.t_x, s.T, s.monetary,
                                           monthly_discount=MONTHLY_DISCOUNT)
    else:
        value = purchases * spend
    p = p_rows[c.inverse]
    active_rows = e_rows / np.maximum(p_rows, 1e-12)  # E[purchases | still active]
    value_active = active_rows[c.inverse] * spend
    return {"p_alive": p, "purchases": purchases, "spend": spend, "clv": value, "value_active": value_active}


def previous_figures(brand_id: int, member_ids: np.ndarray) -> tuple[list[float | None], dt.datetime | None]:
    """The P(alive) each of `member_ids` has in the brand's current rows (None: no row), and when those rows
    were computed: read before write_predictions replaces them, to be kept as the previous figures."""
    table = MemberPrediction._meta.db_table
    previous_at = (MemberPrediction.objects.filter(brand_id=brand_id).order_by("-computed_at")
                   .values_list("computed_at", flat=True).first())
    if previous_at is None:
        return [None] * len(member_ids), None
    ids_parts, p_parts = [], []
    with connection.cursor() as cur:
        cur.execute(f"SELECT member_id, p_alive FROM {table} WHERE brand_id = %s", [brand_id])
        while rows := cur.fetchmany(50_000):
            block = np.array(rows, dtype=np.float64)
            ids_parts.append(block[:, 0].astype(np.int64))
            p_parts.append(block[:, 1])
    old_ids, old_p = np.concatenate(ids_parts), np.concatenate(p_parts)
    order = np.argsort(old_ids)
    old_ids, old_p = old_ids[order], old_p[order]
    at = np.minimum(np.searchsorted(old_ids, member_ids), len(old_ids) - 1)
    found = old_ids[at] == member_ids
    return [float(p) if ok else None for p, ok in zip(old_p[at].tolist(), found.tolist(), strict=True)], previous_at


def write_predictions(brand_id: int, s: BrandSummary, f: dict[str, np.ndarray]) -> int:
    """Replace the brand's MemberPrediction rows (inside the caller's transaction); each member's P(alive) in
    the rows replaced is kept as p_alive_previous, with their computed_at as previous_computed_at."""
    table = MemberPrediction._meta.db_table
    now = timezone.now()
    previous, previous_at = previous_figures(brand_id, s.member_id.astype(np.int64))
    columns = ("member_id", "brand_id", "p_alive", "expected_purchases_12m", "expected_spend", "clv",
               "value_active", "frequency", "recency_days", "age_days", "p_alive_previous",
               "previous_computed_at", "computed_at")
    cols = [s.member_id.tolist(), [brand_id] * len(s), np.round(f["p_alive"], 6).tolist(),
            np.round(f["purchases"], 4).tolist(), np.round(f["spend"], 2).tolist(),
            np.round(np.minimum(f["clv"], 1e11), 2).tolist(),
            np.round(np.minimum(f["value_active"], 1e11), 2).tolist(), s.x.astype(np.int64).tolist(),
            s.t_x_days.astype(np.int64).tolist(), s.T_days.astype(np.int64).tolist(), previous]
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {table} WHERE brand_id = %s", [brand_id])
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in zip(*cols, strict=True):
                    copy.write_row((*row, previous_at if row[-1] is not None else None, now))
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            before = connection.ops.adapt_datetimefield_value(previous_at)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
            rows = [(*row[:4], Decimal(f"{row[4]:.2f}"), Decimal(f"{row[5]:.2f}"), Decimal(f"{row[6]:.2f}"),
                     *row[7:], before if row[-1] is not None else None, stamp)
                    for row in zip(*cols, strict=True)]
            for start in range(0, len(rows), WRITE_BATCH):
                cur.executemany(sql, rows[start:start + WRITE_BATCH])
    return len(s)


def predictions_job(progress: Progress, *, brand_id: int | None = None) -> dict[str, Any]:
    """The background job the prediction page starts (core.jobs.job_start)."""
    result = predictions_recompute(brand_id, progress=progress)
    return {"brands": {code: {k: v for k, v in r.items() if k != "params"} for code, r in result.items()}}
