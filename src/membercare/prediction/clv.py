"""Customer lifetime value over a horizon from fitted BG/NBD and Gamma-Gamma parameters (vectorised).

CLV = expected purchases in the horizon (BG/NBD, conditional on the member's x, t_x, T) × expected value
of a purchase (Gamma-Gamma, conditional on the member's x and mean spend m_x).

With a monthly discount rate d > 0 the horizon is cut into months and each month's expected purchases
are discounted: CLV = Σ_{i=1..months} (E[Y(i)] − E[Y(i−1)]) × spend / (1+d)^i. With d = 0 (the default,
config key `discount_rate_monthly`) it is simply E[Y(horizon)] × spend. Time is in weeks.
"""

from __future__ import annotations

import numpy as np

from . import bgnbd, gammagamma

WEEKS_PER_MONTH = 365.25 / 12 / 7


def clv(bg_params, gg_params, x, t_x, T, m, *, months: int = 12,
        monthly_discount: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected purchases in `months`, expected spend per purchase, CLV) per member."""
    spend = gammagamma.expected_spend(gg_params, x, m)
    purchases = bgnbd.expected_purchases(bg_params, months * WEEKS_PER_MONTH, x, t_x, T)
    if monthly_discount <= 0:
        return purchases, spend, purchases * spend
    value = np.zeros_like(purchases)
    before = np.zeros_like(purchases)
    for i in range(1, months + 1):
        upto = purchases if i == months else bgnbd.expected_purchases(bg_params, i * WEEKS_PER_MONTH, x, t_x, T)
        value += (upto - before) / (1 + monthly_discount) ** i
        before = upto
    return purchases, spend, value * spend
