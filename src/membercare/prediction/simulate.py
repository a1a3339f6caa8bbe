"""Members simulated from BG/NBD or MBG/NBD, with a calibration and a hold-out window (for tests and checks).

Each member is acquired at time 0 of their own clock with a first purchase, is observed for T (calibration)
and then for `t_star` more (hold-out). While active, repeat purchases come at a Poisson rate λ ~ Gamma(r, α);
the member drops out with probability p ~ Beta(a, b) right after each repeat purchase (BG/NBD) or, in
MBG/NBD, right after the first purchase too. Vectorised over members, one step per purchase index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Simulated:
    x: np.ndarray  # repeat purchases in the calibration window
    t_x: np.ndarray  # time of the last of them (0 when x = 0)
    T: np.ndarray  # length of the calibration window
    x_star: np.ndarray  # repeat purchases in the hold-out window (T, T + t_star]
    t_star: float


def simulate(model: str, params: dict[str, float], n: int, T: np.ndarray | float, t_star: float,
             rng: np.random.Generator) -> Simulated:
    if model not in ("bgnbd", "mbgnbd"):
        raise ValueError(f"unknown model {model!r}")
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    T = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    alive = np.ones(n, dtype=bool)
    if model == "mbgnbd":
        alive &= rng.random(n) >= p  # may be gone right after the first purchase
    end = T + t_star
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    x_star = np.zeros(n)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0, len(idx)) / np.maximum(lam[idx], 1e-300)
        inside = now[idx] <= end[idx]
        alive[idx[~inside]] = False
        idx = idx[inside]
        cal = now[idx] <= T[idx]
        x[idx[cal]] += 1
        t_x[idx[cal]] = now[idx[cal]]
        x_star[idx[~cal]] += 1
        alive[idx[rng.random(len(idx)) < p[idx]]] = False  # drops out right after this purchase
    return Simulated(x=x, t_x=t_x, T=T, x_star=x_star, t_star=float(t_star))
