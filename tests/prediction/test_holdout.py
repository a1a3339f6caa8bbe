"""MBG/NBD beside BG/NBD, the hold-out check per frequency class and the model choice by hold-out error:
CDNOW's weeks 40–78 as Fader, Hardie & Lee (2005) compare them, and data simulated from each model."""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membercare.prediction import bgnbd, holdout, mbgnbd, simulate

DATA = Path(__file__).parent / "data"
CAL_END = dt.date(1997, 9, 30)  # the end of week 39: calibration 1997-01-01 … 09-30, hold-out weeks 40–78
# FHL 2005 (Figure 5, "conditional expectations"): per calibration frequency class 0…6, 7+, the members and their
# mean repeat transactions in weeks 40–78 (actual); the paper's BG/NBD curve is the model at the published
# estimates (r, α, a, b) = (0.243, 4.414, 0.793, 2.426), evaluated here to 3 decimals.
PAPER_MEMBERS = [1411, 439, 214, 100, 62, 38, 29, 64]
PAPER_ACTUAL = [0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359]
PAPER_BGNBD = [0.225, 0.523, 1.044, 1.520, 2.164, 2.654, 3.504, 6.157]
PUBLISHED = (0.243, 4.414, 0.793, 2.426)


@pytest.fixture(scope="module")
def cdnow():
    """Calibration summary (tests/prediction/data/cdnow_summary.csv) and each customer's hold-out repeat
    purchase days, counted from the transactions (cdnow_sample.txt), as the summary counts them (per day)."""
    s = np.genfromtxt(DATA / "cdnow_summary.csv", delimiter=",", names=True)
    raw = np.loadtxt(DATA / "cdnow_sample.txt", dtype=np.int64, usecols=(1, 2))
    dates = raw[:, 1]
    ordinal = np.array([dt.date(v // 10000, v // 100 % 100, v % 100).toordinal() for v in dates])
    pairs = np.unique(np.stack([raw[:, 0], ordinal], axis=1), axis=0)  # one row per customer and day
    n = int(pairs[:, 0].max())
    first = np.full(n + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, pairs[:, 0], pairs[:, 1])
    later = pairs[:, 1] > CAL_END.toordinal()
    x_star = np.bincount(pairs[later, 0], minlength=n + 1)[1:].astype(np.float64)
    repeat_cal = (pairs[:, 1] > first[pairs[:, 0]]) & ~later
    assert np.array_equal(np.bincount(pairs[repeat_cal, 0], minlength=n + 1)[1:], s["x"])  # same counting
    return s, x_star


def test_cdnow_holdout_check_reproduces_the_papers_comparison_per_frequency_class(cdnow):
    s, x_star = cdnow
    assert x_star.sum() == 1882  # repeat purchase days in weeks 40–78
    check = holdout.choose(s["x"], s["t_x"], s["T"], x_star, 39.0)
    bg = check.models["bgnbd"]
    assert [c["members"] for c in bg.classes] == PAPER_MEMBERS
    for c, actual, paper in zip(bg.classes, PAPER_ACTUAL, PAPER_BGNBD, strict=True):
        assert c["actual"] == pytest.approx(actual, abs=5e-4), c
        assert c["predicted"] == pytest.approx(paper, rel=0.02), c  # within 2 % per class
    assert bg.params["r"] == pytest.approx(PUBLISHED[0], rel=0.01)
    # BG/NBD describes CDNOW's hold-out better than MBG/NBD: chosen, and its error is under the "good" bound
    assert check.model == "bgnbd" and check.verdict == "good"
    assert 0.10 < bg.error < 0.14 and check.models["mbgnbd"].error > bg.error
    assert check.as_json()["classes"] == bg.classes


def test_the_paper_curve_is_bgnbd_at_the_published_estimates(cdnow):
    s, x_star = cdnow
    rows = bgnbd.expected_purchases(PUBLISHED, 39.0, s["x"], s["t_x"], s["T"])
    classes = holdout.by_class(s["x"], x_star, rows)
    assert [round(c["predicted"], 3) for c in classes] == PAPER_BGNBD


PARAMS = {"r": 0.5, "alpha": 4.0, "a": 1.5, "b": 3.0}


def _simulated(model: str, seed: int, n: int = 4000, t_star: float = 39.0) -> simulate.Simulated:
    rng = np.random.default_rng(seed)
    return simulate.simulate(model, PARAMS, n, rng.uniform(26, 52, n), t_star, rng)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_the_chooser_picks_the_model_the_data_were_simulated_from(model, seed):
    s = _simulated(model, seed)
    check = holdout.choose(s.x, s.t_x, s.T, s.x_star, s.t_star)
    assert check.model == model, {m: c.error for m, c in check.models.items()}
    assert check.verdict == "good" and check.error <= holdout.GOOD_ERROR


def test_mbgnbd_recovers_the_parameters_it_was_simulated_from():
    rng = np.random.default_rng(2007)
    truth = {"r": 0.6, "alpha": 5.0, "a": 1.2, "b": 2.5}
    s = simulate.simulate("mbgnbd", truth, 30_000, rng.uniform(52, 104, 30_000), 0.0, rng)
    fit = mbgnbd.fit(bgnbd.compress(s.x, s.t_x, s.T))
    assert fit.status == "ok"
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.12), name
    # and BG/NBD, fitted to the same data, explains it worse
    assert bgnbd.fit(bgnbd.compress(s.x, s.t_x, s.T)).loglik < fit.loglik - 10


def _central_differences(f, params, rel=1e-5):
    params = np.asarray(params, dtype=np.float64)
    out = np.empty_like(params)
    for i, value in enumerate(params):
        up, down = params.copy(), params.copy()
        up[i] += rel * value
        down[i] -= rel * value
        out[i] = (f(up) - f(down)) / (2 * rel * value)
    return out


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (1.7, 30.0, 0.2, 5.0), (0.05, 0.5, 3.0, 0.4)])
def test_mbgnbd_gradient_matches_finite_differences(cdnow, params):
    s, _x_star = cdnow
    c = bgnbd.compress(s["x"], s["t_x"], s["T"])
    _ll, grad = mbgnbd.loglik_and_grad(params, c)
    numeric = _central_differences(lambda p: mbgnbd.loglik_and_grad(p, c)[0], params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)
    ll = mbgnbd.loglik_and_grad(params, c)[0]
    assert ll == pytest.approx(mbgnbd.loglik_rows(params, s["x"], s["t_x"], s["T"]).sum(), rel=1e-10)


def test_mbgnbd_one_time_buyers_fade_and_predictions_are_consistent():
    params = (0.5, 4.0, 1.5, 3.0)
    T = np.array([1.0, 26.0, 52.0, 82.0])
    p = mbgnbd.p_alive(params, np.zeros(4), np.zeros(4), T)
    assert np.all(np.diff(p) < 0) and p[0] < 1.0 and p[-1] < 0.5  # 19 months after a single purchase
    assert np.all(bgnbd.p_alive(params, np.zeros(4), np.zeros(4), T) == 1.0)  # what BG/NBD says instead
    # a new member (x = t_x = T = 0) expects what the unconditional formula says
    assert mbgnbd.expected_purchases(params, 30.0, [0.0], [0.0], [0.0])[0] == pytest.approx(
        mbgnbd.expected_purchases_new(params, 30.0), rel=1e-10)
    # the simulation agrees with the model's expectation for new members
    rng = np.random.default_rng(5)
    sim = simulate.simulate("mbgnbd", dict(zip(mbgnbd.PARAM_NAMES, params, strict=True)), 200_000, 30.0, 0.0, rng)
    assert sim.x.mean() == pytest.approx(mbgnbd.expected_purchases_new(params, 30.0), rel=0.02)


classes_st = st.lists(st.tuples(st.integers(0, 500), st.floats(0, 10), st.floats(0, 10)), min_size=1, max_size=8)


@given(classes_st, st.floats(0.1, 10))
@settings(max_examples=200, deadline=None)
def test_class_error_is_zero_for_a_perfect_model_and_does_not_depend_on_the_scale(rows, scale):
    classes = [{"members": n, "actual": a, "predicted": p} for n, a, p in rows]
    error = holdout.class_error(classes)
    assert error >= 0
    perfect = [{**c, "predicted": c["actual"]} for c in classes]
    assert holdout.class_error(perfect) == 0
    scaled = [{**c, "actual": c["actual"] * scale, "predicted": c["predicted"] * scale} for c in classes]
    if np.isfinite(error):
        assert holdout.class_error(scaled) == pytest.approx(error, rel=1e-9, abs=1e-12)
