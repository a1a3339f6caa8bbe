"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, analytic gradients, compression, predictions."""

from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from membercare.prediction import bgnbd, clv, gammagamma

DATA = Path(__file__).parent / "data" / "cdnow_summary.csv"
# Fader, Hardie & Lee 2005 (BG/NBD, weeks) and Fader & Hardie 2013 (Gamma-Gamma, 946 repeat customers)
PUBLISHED_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow():
    d = np.genfromtxt(DATA, delimiter=",", names=True)
    assert len(d) == 2357
    return d


def test_bgnbd_fit_reproduces_published_cdnow_estimates_within_1_percent(cdnow):
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert c.n_members == 2357 and len(c) < 2357 and c.count.sum() == 2357
    fit = bgnbd.fit(c)
    assert fit.converged
    for name, published in PUBLISHED_BG.items():
        assert fit.params[name] == pytest.approx(published, rel=0.01), name
    assert fit.loglik == pytest.approx(-9582.4, abs=0.1)  # the paper's maximum


def test_gammagamma_fit_reproduces_published_cdnow_estimates_within_1_percent(cdnow):
    d = gammagamma.prepare(cdnow["x"], cdnow["zbar"])
    assert len(d) == 946
    fit = gammagamma.fit(d)
    assert fit.converged
    for name, published in PUBLISHED_GG.items():
        assert fit.params[name] == pytest.approx(published, rel=0.01), name


def test_a_poor_start_still_finds_the_maximum(cdnow):
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    fit = bgnbd.fit(c, initial=(5.0, 100.0, 5.0, 0.2))
    assert fit.params["r"] == pytest.approx(0.243, rel=0.01)
    assert fit.params["alpha"] == pytest.approx(4.414, rel=0.01)


def _central_differences(f, params, rel=1e-5):
    params = np.asarray(params, dtype=np.float64)
    out = np.empty_like(params)
    for i, value in enumerate(params):
        h = rel * value
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        out[i] = (f(up) - f(down)) / (2 * h)
    return out


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (1.7, 30.0, 0.2, 5.0), (0.05, 0.5, 3.0, 0.4)])
def test_bgnbd_gradient_matches_finite_differences(cdnow, params):
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    _ll, grad = bgnbd.loglik_and_grad(params, c)
    numeric = _central_differences(lambda p: bgnbd.loglik_and_grad(p, c)[0], params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 10.0, 100.0), (20.0, 1.5, 2.0)])
def test_gammagamma_gradient_matches_finite_differences(cdnow, params):
    d = gammagamma.prepare(cdnow["x"], cdnow["zbar"])
    _ll, grad = gammagamma.loglik_and_grad(params, d)
    numeric = _central_differences(lambda p: gammagamma.loglik_and_grad(p, d)[0], params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_compressed_likelihood_equals_the_sum_over_members(cdnow):
    params = (0.5, 3.0, 1.2, 2.0)
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    rows = bgnbd.loglik_rows(params, cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert bgnbd.loglik_and_grad(params, c)[0] == pytest.approx(rows.sum(), rel=1e-12)
    # every member maps back to a row holding its own values
    np.testing.assert_array_equal(c.x[c.inverse], cdnow["x"])
    np.testing.assert_array_equal(c.t_x[c.inverse], cdnow["t_x"])
    np.testing.assert_array_equal(c.T[c.inverse], cdnow["T"])
    d = gammagamma.prepare(cdnow["x"], cdnow["zbar"])
    keep = cdnow["x"] > 0
    assert gammagamma.loglik_and_grad((6.0, 4.0, 15.0), d)[0] == pytest.approx(
        gammagamma.loglik_rows((6.0, 4.0, 15.0), cdnow["x"][keep], cdnow["zbar"][keep]).sum(), rel=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="recency"):
        bgnbd.compress(np.array([1.0]), np.array([5.0]), np.array([4.0]))
    with pytest.raises(ValueError, match="whole number"):
        bgnbd.compress(np.array([1.5]), np.array([1.0]), np.array([4.0]))
    with pytest.raises(ValueError, match="no members"):
        gammagamma.prepare(np.array([0.0]), np.array([0.0]))


P = (0.243, 4.414, 0.793, 2.426)


def test_p_alive_is_one_without_repeat_purchases_and_as_computed_by_hand():
    assert bgnbd.p_alive(P, [0, 0], [0, 0], [1.0, 300.0]).tolist() == [1.0, 1.0]
    # x=2, t_x=30.43, T=38.86: odds of having dropped = a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)
    #   = 0.793/3.426 · (43.274/34.844)^2.243 = 0.231465 · 1.625789 = 0.376314 → P(alive) = 1/1.376314
    assert bgnbd.p_alive(P, [2], [30.43], [38.86])[0] == pytest.approx(0.726579, abs=1e-6)
    # the longer since the last purchase, the less likely still active
    p = bgnbd.p_alive(P, [3, 3, 3], [30.0, 20.0, 5.0], [38.86] * 3)
    assert p[0] > p[1] > p[2]


def test_expected_purchases_matches_the_model_integrated_numerically():
    """E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 in FHL 2005; here also by integrating over λ and p."""
    r, alpha, a, b = P
    x, tx, T, t = 2, 30.43, 38.86, 39.0

    def weight(lam, p, alive_only):
        prior = stats.gamma.pdf(lam, r, scale=1 / alpha) * stats.beta.pdf(p, a, b)
        alive = (1 - p) ** x * lam ** x * np.exp(-lam * T)
        return prior * (alive if alive_only else alive + p * (1 - p) ** (x - 1) * lam ** x * np.exp(-lam * tx))

    z = integrate.dblquad(lambda lam, p: weight(lam, p, False), 0, 1, 0, np.inf)[0]
    expected = integrate.dblquad(lambda lam, p: (1 - np.exp(-lam * p * t)) / p * weight(lam, p, True),
                                 0, 1, 0, np.inf)[0] / z
    ours = bgnbd.expected_purchases(P, t, [x], [tx], [T])[0]
    assert ours == pytest.approx(expected, rel=1e-5)
    assert ours == pytest.approx(1.226, abs=5e-4)
    assert bgnbd.expected_purchases(P, 0, [x], [tx], [T])[0] == 0
    # a member seen only now (T=0) expects what a new member does
    assert bgnbd.expected_purchases(P, 52, [0], [0], [0])[0] == pytest.approx(bgnbd.expected_purchases_new(P, 52))


def test_expected_spend_and_clv_by_hand():
    gg = {"p": 6.25, "q": 3.74, "v": 15.44}
    # no repeat purchases: the population mean pγ/(q−1) = 6.25·15.44/2.74 = 35.2190
    # x=4, m=20: (γ + x m) p / (p x + q − 1) = (15.44 + 80)·6.25 / 27.74 = 21.5032
    spend = gammagamma.expected_spend(gg, [0, 4], [0, 20])
    np.testing.assert_allclose(spend, [35.218978, 21.503244], rtol=1e-6)
    purchases, spend, value = clv.clv(P, gg, np.array([2.0]), np.array([30.43]), np.array([38.86]),
                                      np.array([20.0]))
    assert purchases[0] == pytest.approx(bgnbd.expected_purchases(P, 52.17857, [2], [30.43], [38.86])[0], rel=1e-5)
    assert value[0] == pytest.approx(purchases[0] * spend[0])
    _p, _s, discounted = clv.clv(P, gg, np.array([2.0]), np.array([30.43]), np.array([38.86]), np.array([20.0]),
                                 monthly_discount=0.01)
    assert value[0] / 1.01 ** 12 < discounted[0] < value[0] / 1.01


# ---- the fit's own judgement (prediction.optim): a maximum at the model's limit, a failed fit ------------------

# (x, t_x days, T days) of the 40 members of tests/prediction/test_services.py's history: their dropout
# chances cannot be told apart, so the likelihood's maximum lies at a, b → ∞. L-BFGS-B's flag on this data
# said "ABNORMAL" on one machine and "converged" on another (main failed on a fresh machine).
RIDGE = [(2, 166, 199), (3, 222, 335), (3, 298, 301), (6, 146, 216), (7, 238, 259), (6, 250, 304), (1, 23, 131),
         (4, 331, 333), (7, 203, 305), (4, 59, 181), (5, 144, 150), (7, 225, 311), (2, 162, 172), (6, 95, 114),
         (0, 0, 86), (4, 265, 318), (3, 205, 265), (4, 121, 123), (1, 58, 252), (7, 338, 364), (1, 40, 159),
         (2, 105, 126), (2, 2, 84), (3, 64, 142), (2, 90, 150), (2, 68, 108), (2, 88, 362), (7, 99, 99),
         (3, 88, 102), (3, 215, 232), (3, 155, 327), (3, 121, 125), (6, 107, 144), (1, 117, 332), (4, 216, 272),
         (6, 137, 271), (2, 134, 227), (2, 159, 339), (2, 44, 108), (3, 65, 106)]


def test_dropout_alike_for_everyone_is_reported_as_the_limit_case_from_any_start():
    """The fit must say "limit" (a and b named) whatever the optimiser's flag, from any start, with the same
    likelihood, the same dropout chance a/(a+b) and the same finite predictions."""
    d = np.array(RIDGE, dtype=np.float64)
    x, t_x, T = d[:, 0], d[:, 1] / 7, d[:, 2] / 7
    c = bgnbd.compress(x, t_x, T)
    fits = [bgnbd.fit(c, init) for init in (None, (0.5, 5, 1, 1), (1, 10, 0.5, 2), (2, 20, 1, 3), (0.1, 1, 3, 3))]
    reference = bgnbd.expected_purchases(fits[0].params, 52, x, t_x, T)
    for f in fits:
        assert f.status == "limit" and f.converged and set(f.limits) == {"a", "b"}, f
        assert f.params["r"] == pytest.approx(15.65, rel=0.01) and f.params["alpha"] == pytest.approx(109.6, rel=0.01)
        assert f.params["a"] / (f.params["a"] + f.params["b"]) == pytest.approx(0.0856, abs=0.001)
        assert f.loglik == pytest.approx(fits[0].loglik, abs=1e-3) and f.loglik == pytest.approx(-440.65, abs=0.01)
        e = bgnbd.expected_purchases(f.params, 52, x, t_x, T)
        assert np.all(np.isfinite(e)) and e == pytest.approx(reference, rel=1e-3)


def test_the_published_fit_is_an_interior_maximum(cdnow):
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    f = bgnbd.fit(c)
    assert f.status == "ok" and f.limits == () and f.gain <= 1e-3


def test_a_fit_stopped_early_is_failed_by_its_gradient_not_by_a_flag(cdnow):
    c = bgnbd.compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    f = bgnbd.fit(c, initial=(5.0, 100.0, 5.0, 0.2), max_iter=2)
    assert f.status == "failed" and not f.converged and f.gradient > 1e-5
