"""The MBG/NBD model of repeat purchases (Batislam, Denizel & Filiztekin 2007), beside BG/NBD (prediction.bgnbd).

BG/NBD lets a member become inactive only right after a *repeat* purchase, so a member who never came back
(x = 0) is certainly still active in it, however long ago the first purchase was. MBG/NBD changes one thing:
the dropout chance p ~ Beta(a, b) applies at time 0 too (right after the first purchase), so one-time buyers
can be gone. Purchases while active are Poisson(λ), λ ~ Gamma(r, α), as in BG/NBD. Same summary (x, t_x, T),
same compressed rows, same optimiser (prediction.optim).

Log-likelihood of one member (in logs; x + 1 chances to drop out, at 0 and after each repeat purchase):
  A1 = lnΓ(r+x) − lnΓ(r) + r ln α
  A2 = lnΓ(a+b) + lnΓ(b+x+1) − lnΓ(b) − lnΓ(a+b+x+1)
  A3 = −(r+x) ln(α+T)                          (still active at T)
  A4 = ln a − ln(b+x) − (r+x) ln(α+t_x)        (dropped out right after the last purchase; x = 0 included)
  LL = A1 + A2 + ln(e^A3 + e^A4)
Predictions (Batislam et al. 2007, eqs. for P(alive) and E[Y(t) | x, t_x, T]):
  P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))
  E[Y(t) | x, t_x, T]  = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]
                         · P(alive | x, t_x, T)
The likelihood and gradient are written out here (as bgnbd's are) because no maintained Python package fits
MBG/NBD on compressed rows with analytic gradients; `lifetimes` (unmaintained since 2020) has a slower,
per-member version.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from . import bgnbd
from .bgnbd import Compressed, compress, params_tuple
from .optim import Fit

PARAM_NAMES = ("r", "alpha", "a", "b")
__all__ = ["Fit", "compress", "fit", "p_alive", "expected_purchases", "expected_purchases_new"]


class _Objective(bgnbd._Objective):
    """−LL/N and its gradient with respect to the log parameters, on compressed rows (the call is bgnbd's)."""

    def __init__(self, c: Compressed) -> None:
        self.c = c
        self.n = float(c.count.sum())
        self.w_x = np.bincount(c.ix, weights=c.count, minlength=len(c.x_values))  # members per x value
        self.x = c.x_values[c.ix]

    def loglik_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        return loglik_and_grad(params, self.c, _cache=self)


def loglik_and_grad(params, c: Compressed, _cache: _Objective | None = None) -> tuple[float, np.ndarray]:
    """Total log-likelihood Σ count·LL and its gradient with respect to (r, α, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    k = _cache or _Objective(c)
    xv = c.x_values
    A1 = special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha)
    A2 = special.gammaln(a + b) + special.gammaln(b + xv + 1) - special.gammaln(b) - special.gammaln(a + b + xv + 1)
    dA1_r = special.digamma(r + xv) - special.digamma(r) + np.log(alpha)
    dA2_a = special.digamma(a + b) - special.digamma(a + b + xv + 1)
    dA2_b = special.digamma(a + b) + special.digamma(b + xv + 1) - special.digamma(b) - special.digamma(a + b + xv + 1)
    lT = np.log(alpha + c.T_values)[c.iT]
    lt = np.log(alpha + c.t_values)[c.it]
    x, w = k.x, c.count
    rx = r + x
    D = lT - lt
    z = np.minimum((np.log(a) - np.log(b + xv))[c.ix] + rx * D, 700.0)
    e = np.exp(z)
    sig = e / (1.0 + e)  # P(the member has dropped out | x, t_x, T)
    ll = float(k.w_x @ (A1 + A2)) + float(w @ (-rx * lT + np.log1p(e)))
    ws = w * sig
    g_r = float(k.w_x @ dA1_r) - float(w @ lT) + float(ws @ D)
    iT_ = 1.0 / (alpha + c.T_values)[c.iT]
    it_ = 1.0 / (alpha + c.t_values)[c.it]
    g_alpha = (r / alpha) * k.n - float(w @ (rx * iT_)) + float(ws @ (rx * (iT_ - it_)))
    g_a = float(k.w_x @ dA2_a) + float(ws.sum()) / a
    g_b = float(k.w_x @ dA2_b) - float(ws @ (1.0 / (b + x)))
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def loglik_rows(params, x, t_x, T) -> np.ndarray:
    """Log-likelihood of each member (plain formula, no compression: for tests and checks)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    A2 = special.gammaln(a + b) + special.gammaln(b + x + 1) - special.gammaln(b) - special.gammaln(a + b + x + 1)
    A3 = -(r + x) * np.log(alpha + T)
    A4 = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
    return A1 + A2 + np.logaddexp(A3, A4)


def fit(c: Compressed, initial: tuple[float, float, float, float] | None = None, *, tol: float = 1e-10,
        max_iter: int = 500) -> Fit:
    """Maximum-likelihood estimates of (r, α, a, b) on compressed data (judged as prediction.optim says)."""
    return bgnbd.fit_objective(_Objective(c), c, initial, tol=tol, max_iter=max_iter)


# ---------------------------------------------------------------------------------------------- predictions

def _death_odds(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T): below 1 for one-time buyers too, falling as their first purchase ages."""
    r, alpha, a, b = params_tuple(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return 1.0 / (1.0 + _death_odds(r, alpha, a, b, x, t_x, T))


def expected_purchases(params, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T]."""
    r, alpha, a, b = params_tuple(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if t <= 0:
        return np.zeros_like(x)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
    numerator = (a + b + x) / (a - 1) * (1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp)
    return numerator / (1.0 + _death_odds(r, alpha, a, b, x, t_x, T))


def expected_purchases_new(params, t: float) -> float:
    """E[repeat purchases in (0, t]] of a newly acquired member."""
    r, alpha, a, b = params_tuple(params)
    z = t / (alpha + t)
    return float(b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z)))
