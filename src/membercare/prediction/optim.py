"""Maximum likelihood for the prediction models: L-BFGS-B on log parameters, judged by our own test.

Why not trust the optimiser's `success` flag: where the data cannot tell members apart in one respect
(40 members whose dropout chances look alike, say), the likelihood's maximum lies at a *limit* of the
parameter space — the Beta of BG/NBD's dropout collapses to a point (a, b → ∞ with a/(a+b) fixed), the
Gamma of its purchase rate likewise (r, α → ∞ with r/α fixed). The optimiser then walks a flat ridge and
stops with "ABNORMAL" or "converged" depending on rounding in its line search: the same data gave either
on different machines. So:

* concentration parameters are capped at `CAP` (1e6: the distribution is then a point for every purpose
  here: predictions at 1e5, 1e6 and 1e7 agree to 5 digits), so a maximum at the limit becomes a maximum
  at the cap, where the optimiser stops cleanly;
* the result is judged by what a further step could still gain, not by the flag: at the final point the
  free parameters' Newton step (gradient and a Hessian by differences of the analytic gradient) would
  raise the total log-likelihood by less than `GAIN` (0.001: no likelihood-ratio test can see it), or
  the projected gradient is below `GTOL`. Then `ok` (inside the bounds), `limit` (some parameters at the
  cap or beyond `LIMIT`, on the flat ridge towards it: the model's limit case, named in `limits`);
  otherwise `failed` (the estimates are not to be used);
* a run that stops on the flat ridge towards a limit (capped parameters beyond `LIMIT`) is finished at the
  cap: those parameters moved there together (ratios kept) and the others optimised again;
* when the first run is not stationary, it is retried from the best point and from a second start, and
  the best likelihood kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

CAP = 1e6  # upper cap of a concentration (shape) parameter
LOG_CAP = float(np.log(CAP))
LOG_BOUND = 20.0  # every other parameter: e^-20 … e^20
GTOL = 1e-5  # |∂(−LL/N)/∂ log θ| below this at a free parameter: stationary
LIMIT = 1e4  # a capped parameter beyond this: its distribution is a point (coefficient of variation ≤ 1 %)
GAIN = 1e-3  # a Newton step gaining less total log-likelihood than this: stationary

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit.

    `status`: "ok" (an interior maximum), "limit" (the maximum is the model's limit case: `limits` names the
    parameters at their cap) or "failed" (no stationary point found: do not use). `converged` is true for
    the first two."""

    params: dict[str, float]
    loglik: float
    n_members: int
    n_rows: int
    status: str
    iterations: int
    message: str
    gradient: float = 0.0  # largest |gradient| at a free parameter (−LL/N, log scale)
    gain: float = 0.0  # what a Newton step on the free parameters would still add to the log-likelihood
    limits: tuple[str, ...] = field(default=())

    @property
    def converged(self) -> bool:
        return self.status != "failed"

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(self.params.values())


def _bounds(names: Sequence[str], capped: Sequence[str]) -> list[tuple[float, float]]:
    return [(-LOG_BOUND, LOG_CAP if n in capped else LOG_BOUND) for n in names]


def _judge(objective: Objective, n: float, z: np.ndarray, bounds: list[tuple[float, float]],
           names: Sequence[str]) -> tuple[float, float, float, tuple[str, ...]]:
    """(−LL/N, the largest projected gradient, the Newton step's gain in total log-likelihood (inf when the
    Hessian of the free parameters is not positive definite), the parameters held at a bound)."""
    f, g = objective(z)
    free: list[int] = []
    held: list[str] = []
    for i, (lo, hi) in enumerate(bounds):
        at_hi = z[i] >= hi - 1e-6 and g[i] < GTOL  # the likelihood still rises beyond the cap (or is flat)
        at_lo = z[i] <= lo + 1e-6 and g[i] > -GTOL
        if at_hi or at_lo:
            held.append(names[i])
        else:
            free.append(i)
    if not free:
        return float(f), 0.0, 0.0, tuple(held)
    gf = np.asarray(g, dtype=np.float64)[free]
    worst = float(np.max(np.abs(gf)))
    h = 1e-5
    hess = np.empty((len(free), len(free)))
    for k, i in enumerate(free):
        up, down = z.copy(), z.copy()
        up[i] += h
        down[i] -= h
        hess[k] = (np.asarray(objective(up)[1])[free] - np.asarray(objective(down)[1])[free]) / (2 * h)
    hess = (hess + hess.T) / 2
    try:
        chol = np.linalg.cholesky(hess)
        y = np.linalg.solve(chol, gf)
        gain = 0.5 * float(y @ y) * n
    except np.linalg.LinAlgError:
        gain = float("inf")
    return float(f), worst, gain, tuple(held)


def _stationary(worst: float, gain: float) -> bool:
    return worst <= GTOL or gain <= GAIN


def maximise(objective: Objective, n: float, initial: Sequence[float], names: Sequence[str], *,
             capped: Sequence[str], n_members: int, n_rows: int, tol: float, max_iter: int,
             second_start: Sequence[float] | None = None) -> Fit:
    """Maximise the log-likelihood whose −LL/N and gradient (log parameters) `objective` returns."""
    bounds = _bounds(names, capped)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])

    def run(start: np.ndarray) -> optimize.OptimizeResult:
        return optimize.minimize(objective, np.clip(start, lo, hi), jac=True, method="L-BFGS-B", bounds=bounds,
                                 options={"maxiter": max_iter, "ftol": tol, "gtol": GTOL / 100})

    best = run(np.log(np.asarray(initial, dtype=np.float64)))
    iterations = int(best.nit)
    f, worst, gain, held = _judge(objective, n, best.x, bounds, names)
    big = [i for i, name in enumerate(names) if name in capped and best.x[i] >= np.log(LIMIT)]
    if big and max(best.x[i] for i in big) < LOG_CAP - 1e-6:
        # on the flat ridge towards the limit: move the parameters going there to the cap together (their
        # ratios kept) and finish there, where the bound holds them and the rest is well conditioned
        start = best.x.copy()
        start[big] += LOG_CAP - max(best.x[i] for i in big)
        again = run(start)
        iterations += int(again.nit)
        f2, worst2, gain2, held2 = _judge(objective, n, again.x, bounds, names)
        if f2 <= f + 1e-9 / max(n, 1.0):
            best, f, worst, gain, held = again, f2, worst2, gain2, held2
    if not _stationary(worst, gain):  # go on from there, and try a second start
        starts = [best.x] + ([np.log(np.asarray(second_start, dtype=np.float64))] if second_start else [])
        for start in starts:
            again = run(start)
            iterations += int(again.nit)
            f2, worst2, gain2, held2 = _judge(objective, n, again.x, bounds, names)
            if _stationary(worst2, gain2) or f2 < f - 1e-12:
                best, f, worst, gain, held = again, f2, worst2, gain2, held2
            if _stationary(worst, gain):
                break
    params = np.exp(best.x)
    limits = tuple(name for name, value in zip(names, params, strict=True)
                   if name in held or (name in capped and value >= LIMIT))
    status = "failed" if not _stationary(worst, gain) else ("limit" if limits else "ok")
    return Fit(params=dict(zip(names, (float(v) for v in params), strict=True)), loglik=float(-f * n),
               n_members=n_members, n_rows=n_rows, status=status, iterations=iterations,
               message=str(best.message), gradient=worst, gain=gain, limits=limits)
