"""The out-of-sample check of the purchase models, and the choice between them, per brand.

As Fader, Hardie & Lee (2005, Figure 5) check BG/NBD on CDNOW: fit on a *calibration* window (history up to
`as_of − HOLDOUT_WEEKS`), predict for each member the repeat purchases of the *hold-out* window that follows
(E[X(T, T+t*) | x, t_x, T]), and compare with what the members really did there, averaged per calibration
frequency class x = 0, 1, …, 6, 7+ (the members' classes are their calibration x).

The error of a model is the weighted mean absolute percentage error over the classes,
  error = Σ_k n_k · |predicted_k − actual_k| / Σ_k n_k · actual_k,
i.e. the share of the hold-out purchases a model puts in the wrong class (or predicts that never happen).
The model with the smaller error is chosen (BG/NBD or MBG/NBD); its verdict is "good" when the error is at
most GOOD_ERROR (20 %: on CDNOW BG/NBD's is about 14 %), else "poor"; "unchecked" when the history is too
short or the brand too small for a hold-out check (fewer than MIN_MEMBERS = 200 members acquired before
the window: the per-class means would be noise) — then BG/NBD, the model
fitted before this check existed, is used.

The calibration summary comes from prediction.summary's public `brand_summary(brand, as_of=calibration end)`;
the hold-out purchases of each member are their repeat purchase days at `as_of` minus those at the calibration
end (one more `brand_summary`): a purchase day at or before the calibration end that was returned after it is
not counted in either (both summaries count days as known at their date), which can only lower a member's
hold-out count by a day they lost — it is clipped at 0.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import bgnbd, mbgnbd, optim

HOLDOUT_WEEKS = 26  # the hold-out window: the last half year before as_of
CLASSES = 8  # calibration frequency classes 0, 1, …, 6, 7+
GOOD_ERROR = 0.20  # a model whose weighted class error is at most this is "good"
MIN_MEMBERS = 200  # fewer members acquired before the hold-out window: no check (class means would be noise)
MODELS = {"bgnbd": bgnbd, "mbgnbd": mbgnbd}
DEFAULT_MODEL = "bgnbd"


@dataclass
class ModelCheck:
    model: str
    status: str  # the calibration fit's status (prediction.optim)
    params: dict[str, float]
    classes: list[dict[str, float]]  # per class: x (0..7, 7 = 7+), members, actual, predicted (means)
    error: float | None  # weighted mean absolute % error over the classes (None: the fit failed)


@dataclass
class Check:
    """The outcome per brand: the chosen model, the verdict and every model's figures."""

    model: str
    verdict: str  # "good", "poor" or "unchecked"
    error: float | None = None
    weeks: int = HOLDOUT_WEEKS
    calibration_end: str | None = None
    members: int = 0
    models: dict[str, ModelCheck] = field(default_factory=dict)

    @property
    def classes(self) -> list[dict[str, float]]:
        return self.models[self.model].classes if self.model in self.models else []

    def as_json(self) -> dict[str, Any]:
        """For a JSON field: no infinities (an error with no hold-out purchase at all is None)."""
        out = asdict(self)
        out["classes"] = self.classes
        for m in [out, *out["models"].values()]:
            if m["error"] is not None and not math.isfinite(m["error"]):
                m["error"] = None
        return out


def by_class(x: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Mean actual and predicted hold-out purchases per calibration frequency class (0..6, 7+)."""
    cls = np.minimum(np.asarray(x, dtype=np.int64), CLASSES - 1)
    n = np.bincount(cls, minlength=CLASSES)
    act = np.bincount(cls, weights=actual, minlength=CLASSES)
    pred = np.bincount(cls, weights=predicted, minlength=CLASSES)
    return [{"x": k, "members": int(n[k]), "actual": float(act[k] / n[k]) if n[k] else 0.0,
             "predicted": float(pred[k] / n[k]) if n[k] else 0.0} for k in range(CLASSES)]


def class_error(classes: list[dict[str, float]]) -> float:
    """Σ n·|predicted − actual| / Σ n·actual over the classes (0 when nothing was bought and none predicted)."""
    miss = sum(c["members"] * abs(c["predicted"] - c["actual"]) for c in classes)
    total = sum(c["members"] * c["actual"] for c in classes)
    return float(miss / total) if total > 0 else (0.0 if miss == 0 else float("inf"))


def check_model(model: str, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, x_star: np.ndarray,
                t_star: float, c: bgnbd.Compressed | None = None) -> ModelCheck:
    """Fit `model` on the calibration summary, predict the hold-out and compare per class."""
    module = MODELS[model]
    c = c if c is not None else bgnbd.compress(x, t_x, T)
    f: optim.Fit = module.fit(c)
    if not f.converged:
        return ModelCheck(model, f.status, f.params, [], None)
    rows = module.expected_purchases(f.params, t_star, c.x, c.t_x, c.T)
    classes = by_class(x, x_star, rows[c.inverse])
    return ModelCheck(model, f.status, f.params, classes, class_error(classes))


def choose(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, x_star: np.ndarray, t_star: float,
           models: tuple[str, ...] = ("bgnbd", "mbgnbd")) -> Check:
    """Check every model on the hold-out; the one with the smallest class error is chosen (ties: the first)."""
    c = bgnbd.compress(x, t_x, T)
    checks = {m: check_model(m, x, t_x, T, x_star, t_star, c) for m in models}
    usable = [m for m in models if checks[m].error is not None]
    if not usable:
        return Check(model=DEFAULT_MODEL, verdict="poor", members=len(x), models=checks)
    best = min(usable, key=lambda m: checks[m].error)  # type: ignore[arg-type, return-value]
    error = checks[best].error
    verdict = "good" if error is not None and error <= GOOD_ERROR else "poor"
    return Check(model=best, verdict=verdict, error=error, members=len(x), models=checks)


def brand_check(brand_id: int, as_of: dt.date, weeks: int = HOLDOUT_WEEKS) -> Check:
    """The check of one brand: calibration up to `as_of − weeks`, hold-out the `weeks` after."""
    from .summary import brand_summary

    end = as_of - dt.timedelta(weeks=weeks)
    cal = brand_summary(brand_id, end)
    if len(cal) < MIN_MEMBERS:
        return Check(model=DEFAULT_MODEL, verdict="unchecked", weeks=weeks, calibration_end=end.isoformat(),
                     members=len(cal))
    full = brand_summary(brand_id, as_of)
    pos = np.searchsorted(full.member_id, cal.member_id)  # both ordered by member id
    pos = np.minimum(pos, max(len(full) - 1, 0))
    found = (len(full) > 0) & (full.member_id[pos] == cal.member_id)
    later_x = np.where(found, full.x[pos], cal.x)
    x_star = np.maximum(later_x - cal.x, 0.0)
    out = choose(cal.x, cal.t_x, cal.T, x_star, weeks * 1.0)
    out.weeks = weeks
    out.calibration_end = end.isoformat()
    return out
