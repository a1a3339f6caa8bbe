"""The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Each member buys at a Poisson rate λ ~ Gamma(r, α) while active and, after each purchase, becomes
inactive with probability p ~ Beta(a, b). A member is summarised by
  x   = number of repeat purchases (purchase days after the first),
  t_x = time of the last purchase, measured from the first purchase (0 when x = 0),
  T   = time from the first purchase to the end of the observation window (the member's age),
all in one time unit (this project uses weeks, as the published CDNOW estimates do).

Fitting maximises the log-likelihood with analytic gradients (L-BFGS-B on the log parameters) over
*compressed* data: members with the same (x, t_x, T) share one row with a weight (their count), and
every term that depends on x, t_x or T alone is computed once per distinct value, so one evaluation
costs a handful of vector operations over the distinct rows. Predictions are vectorised over arrays.

Log-likelihood of one member (FHL 2005, eq. 6, in logs):
  A1 = lnΓ(r+x) − lnΓ(r) + r ln α
  A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
  A3 = −(r+x) ln(α+T)
  A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)          (only when x > 0)
  LL = A1 + A2 + ln(e^A3 + [x>0] e^A4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from . import optim
from .optim import Fit

PARAM_NAMES = ("r", "alpha", "a", "b")
__all__ = ["Fit", "compress", "fit", "p_alive", "expected_purchases", "expected_purchases_new"]


@dataclass(frozen=True)
class Compressed:
    """Distinct (x, t_x, T) rows of a member population, with their counts.

    `x_values`, `t_values`, `T_values` are the distinct values of each column; a row's values are
    `x_values[ix]`, `t_values[it]`, `T_values[iT]`; `count` is how many members share the row and
    `inverse` maps each member (in input order) to its row.
    """

    x_values: np.ndarray
    t_values: np.ndarray
    T_values: np.ndarray
    ix: np.ndarray
    it: np.ndarray
    iT: np.ndarray
    count: np.ndarray
    inverse: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return self.x_values[self.ix]

    @property
    def t_x(self) -> np.ndarray:
        return self.t_values[self.it]

    @property
    def T(self) -> np.ndarray:
        return self.T_values[self.iT]

    @property
    def n_members(self) -> int:
        return int(self.inverse.shape[0])

    def __len__(self) -> int:
        return int(self.count.shape[0])


def compress(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> Compressed:
    """Group members with identical (x, t_x, T): one np.unique per column, then one on the combined code."""
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise ValueError("x, t_x and T must be one-dimensional arrays of the same length")
    _check(x, t_x, T)
    x_values, cx = np.unique(x, return_inverse=True)
    t_values, ct = np.unique(t_x, return_inverse=True)
    T_values, cT = np.unique(T, return_inverse=True)
    nt, nT = len(t_values), len(T_values)
    if len(x_values) * nt * nT < 2**62:
        key = (cx.astype(np.int64) * nt + ct) * nT + cT
        keys, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
        iT = keys % nT
        rest = keys // nT
        it, ix = rest % nt, rest // nt
    else:  # too many distinct values to pack in one integer
        rows, inverse, count = np.unique(np.stack([cx, ct, cT], axis=1), axis=0, return_inverse=True,
                                         return_counts=True)
        ix, it, iT = rows[:, 0], rows[:, 1], rows[:, 2]
    return Compressed(x_values, t_values, T_values, ix, it, iT, count.astype(np.float64), inverse.reshape(-1))


def _check(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if len(x) == 0:
        raise ValueError("no members to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency x must be a whole number ≥ 0")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("recency t_x must lie between 0 and the age T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency t_x must be 0 for members without repeat purchases")


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Σ u·v without BLAS: a threaded BLAS dot on a busy machine is 20x slower than einsum's loop."""
    return float(np.einsum("i,i->", u, v))


class _Objective:
    """−LL/N and its gradient with respect to the log parameters, on compressed rows.

    LL = A1 + A2 + A3 + softplus(z) with z = A4 − A3 (x > 0 only). The sums of A1, A2 (terms of x) and of
    A3 = −(r+x) ln(α+T) (terms of x and T, linear in x) reduce to sums over distinct x and T values with
    weights computed once; only z, softplus(z) and its sigmoid are evaluated per row, for rows with x > 0."""

    def __init__(self, c: Compressed) -> None:
        self.c = c
        self.n = float(c.count.sum())
        xrow = c.x_values[c.ix]
        self.pos_x = c.x_values > 0
        self.w_x = np.bincount(c.ix, weights=c.count, minlength=len(c.x_values))  # members per x value
        self.W_T = np.bincount(c.iT, weights=c.count, minlength=len(c.T_values))  # members per T value
        self.WX_T = np.bincount(c.iT, weights=c.count * xrow, minlength=len(c.T_values))  # Σ count·x per T
        keep = xrow > 0
        self.ix = c.ix[keep]
        self.it = c.it[keep]
        self.iT = c.iT[keep]
        self.w = c.count[keep]
        self.x = xrow[keep]

    def loglik_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        return loglik_and_grad(params, self.c, _cache=self)

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """−LL/N and its gradient in log parameters (what the optimiser minimises); MBG/NBD's objective
        inherits this and brings its own likelihood."""
        params = np.exp(log_params)
        ll, grad = self.loglik_and_grad(params)
        return -ll / self.n, -grad * params / self.n


def loglik_and_grad(params, c: Compressed, _cache: _Objective | None = None) -> tuple[float, np.ndarray]:
    """Total log-likelihood Σ count·LL and its gradient with respect to (r, α, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    k = _cache or _Objective(c)
    xv = c.x_values
    # terms of x alone, once per distinct x, weighted by the number of members with that x
    A1 = special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha)
    A2 = special.gammaln(a + b) + special.gammaln(b + xv) - special.gammaln(b) - special.gammaln(a + b + xv)
    dA1_r = special.digamma(r + xv) - special.digamma(r) + np.log(alpha)
    dA2_a = special.digamma(a + b) - special.digamma(a + b + xv)
    dA2_b = special.digamma(a + b) + special.digamma(b + xv) - special.digamma(b) - special.digamma(a + b + xv)
    bx1 = np.where(k.pos_x, b + xv - 1, 1.0)
    # terms of T alone and of t_x alone, once per distinct value
    lT = np.log(alpha + c.T_values)
    lt = np.log(alpha + c.t_values)
    iT_ = 1.0 / (alpha + c.T_values)
    it_ = 1.0 / (alpha + c.t_values)
    rW_T = r * k.W_T + k.WX_T  # Σ count·(r+x) per T value
    # per row with x > 0: z = A4 − A3 = ln a − ln(b+x−1) + (r+x)(ln(α+T) − ln(α+t_x))
    D = lT[k.iT] - lt[k.it]
    rx = r + k.x
    z = np.minimum((np.log(a) - np.log(bx1))[k.ix] + rx * D, 700.0)
    e = np.exp(z)
    one_e = 1.0 + e
    softplus = np.log(one_e)  # log, not log1p: 2-3x quicker here, and e < 1e-16 changes nothing that counts
    ws = k.w * (e / one_e)  # count × P(the member has dropped out | x, t_x, T)
    ll = float(k.w_x @ (A1 + A2)) - float(rW_T @ lT) + _dot(k.w, softplus)
    g_r = float(k.w_x @ dA1_r) - float(k.W_T @ lT) + _dot(ws, D)
    g_alpha = (r / alpha) * k.n - float(rW_T @ iT_) + _dot(ws * rx, iT_[k.iT] - it_[k.it])
    g_a = float(k.w_x @ dA2_a) + float(ws.sum()) / a
    ws_x = np.bincount(k.ix, weights=ws, minlength=len(xv))
    g_b = float(k.w_x @ dA2_b) - float(ws_x @ (1.0 / bx1))
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def loglik_rows(params, x, t_x, T) -> np.ndarray:
    """Log-likelihood of each member (plain formula, no compression: for tests and checks)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    A2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    A3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        A4 = np.where(x > 0, np.log(a) - np.log(np.where(x > 0, b + x - 1, 1)) - (r + x) * np.log(alpha + t_x),
                      -np.inf)
    return A1 + A2 + np.logaddexp(A3, A4)


def fit(c: Compressed, initial: tuple[float, float, float, float] | None = None, *, tol: float = 1e-10,
        max_iter: int = 500) -> Fit:
    """Maximum-likelihood estimates of (r, α, a, b) on compressed data (judged as prediction.optim says).

    r and a, b are capped (optim.CAP): with no difference between members' purchase rates (or dropout
    chances) in the data, the maximum is the limit r, α → ∞ (a, b → ∞) and the fit says so (`limits`)."""
    return fit_objective(_Objective(c), c, initial, tol=tol, max_iter=max_iter)


def fit_objective(objective: _Objective, c: Compressed, initial: tuple[float, float, float, float] | None, *,
                  tol: float, max_iter: int) -> Fit:
    """Maximise a model's likelihood over (r, α, a, b) (BG/NBD here, MBG/NBD in prediction.mbgnbd): started near
    the observed rate of repeat purchases (λ's mean r/α) with a, b near 1, and from a second start."""
    rate = max(float(c.count @ c.x / max(c.count @ c.T, 1e-9)), 1e-6)
    if initial is None:
        initial = (1.0, 1.0 / rate, 1.0, 1.0)
    return optim.maximise(objective, objective.n, initial, PARAM_NAMES, capped=("r", "a", "b"),
                          n_members=int(objective.n), n_rows=len(c), tol=tol, max_iter=max_iter,
                          second_start=(0.5, 0.5 / rate, 0.5, 2.0))


# ---------------------------------------------------------------------------------------------- predictions

def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T) (FHL 2005 eq. 11); 1 for members without repeat purchases (x = 0),
    since in the model a member can only become inactive right after a purchase."""
    r, alpha, a, b = params_tuple(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return 1.0 / (1.0 + _death_odds(r, alpha, a, b, x, t_x, T))


def _death_odds(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    pos = x > 0
    with np.errstate(over="ignore"):
        log_odds = (np.log(a) - np.log(np.where(pos, b + x - 1, 1.0))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(pos, np.exp(log_odds), 0.0)


def expected_purchases(params, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T] (FHL 2005 eq. 10)."""
    r, alpha, a, b = params_tuple(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * (1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp)
    return numerator / (1.0 + _death_odds(r, alpha, a, b, x, t_x, T))


def expected_purchases_new(params, t: float) -> float:
    """E[purchases in (0, t]] of a newly acquired member (FHL 2005 eq. 9)."""
    r, alpha, a, b = params_tuple(params)
    z = t / (alpha + t)
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z)))


def params_tuple(params) -> tuple[float, float, float, float]:
    """(r, α, a, b) from a fit's parameter dict or a sequence."""
    if isinstance(params, dict):
        return tuple(float(params[k]) for k in PARAM_NAMES)  # type: ignore[return-value]
    r, alpha, a, b = (float(v) for v in params)
    return r, alpha, a, b
