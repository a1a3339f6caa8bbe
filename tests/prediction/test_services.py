"""Recompute end to end: summary → fits → MemberPrediction rows; the page, its background job and the profile panel."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from membercare.core.models import Job
from membercare.prediction.models import MemberPrediction, PredictionFit
from membercare.prediction.services import predictions_recompute
from membercare.sales.models import Receipt

from .conftest import local

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def history(stores, member_factory):
    """40 members at the main brand with 1–8 purchase days each over a year; 3 at the sub-brand."""
    rng = random.Random(7)
    main, sub = stores
    members = [member_factory() for _ in range(40)]
    receipts = []
    for i, m in enumerate(members):
        start = dt.date(2025, 7, 1) + dt.timedelta(days=rng.randrange(0, 300))
        days = sorted({start + dt.timedelta(days=rng.randrange(0, (AS_OF - start).days + 1))
                       for _ in range(rng.randrange(0, 8))} | {start})
        level = rng.choice([150, 400, 1200])  # members differ in what they spend (Gamma-Gamma's premise)
        for k, day in enumerate(days):
            paid = Decimal(round(level * rng.uniform(0.6, 1.4)))
            receipts.append(Receipt(number=f"S{i:03d}{k:03d}", store=main, member=m, total_full_price=paid,
                                    total_paid=paid, sold_at=local(f"{day.isoformat()} 12:00")))
    for i, m in enumerate(members[:3]):
        receipts.append(Receipt(number=f"J{i:03d}", store=sub, member=m, total_full_price=Decimal(100),
                                total_paid=Decimal(100), sold_at=local("2026-03-01 12:00")))
    Receipt.objects.bulk_create(receipts)
    return members


def test_recompute_writes_every_member_once_and_replaces_on_rerun(brands, history):
    calls = []
    result = predictions_recompute(progress=lambda *a: calls.append(a), as_of=AS_OF)
    main, sub = brands
    assert result["JUEDU"] == {"skipped": "too few members", "members": 3}
    assert result["MAIN"]["members"] == 40 and result["MAIN"]["converged"], result["MAIN"]
    # these 40 members' dropout chances cannot be told apart: the maximum is BG/NBD's limit case, said as such
    assert result["MAIN"]["status"] == "limit" and result["MAIN"]["params"]["limits"]["bgnbd"] == ["a", "b"]
    assert calls[-1][:2] == (12, 12)  # 2 brands × 6 steps
    rows = MemberPrediction.objects.filter(brand=main)
    assert rows.count() == 40 and not MemberPrediction.objects.filter(brand=sub).exists()
    for p in rows:
        assert 0 < p.p_alive <= 1 and p.expected_purchases_12m >= 0 and p.clv >= 0
        if p.frequency == 0:
            assert p.p_alive == 1.0
    fit = PredictionFit.objects.get(brand=main)
    assert set(fit.params["bgnbd"]) == {"r", "alpha", "a", "b"} and fit.n_members == 40
    assert set(fit.seconds) >= {"summary", "bgnbd_fit", "write"}
    predictions_recompute(main, as_of=AS_OF)
    assert MemberPrediction.objects.filter(brand=main).count() == 40
    assert PredictionFit.objects.filter(brand=main).count() == 2


def test_page_recompute_button_runs_a_job_and_shows_the_fit(client, specialist, clerk, brands, history):
    client.force_login(clerk)
    assert client.get(reverse("prediction_page")).status_code == 403
    assert client.post(reverse("prediction_recompute")).status_code == 403
    client.force_login(specialist)
    with translation.override("en"):
        response = client.post(reverse("prediction_recompute"), HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert 'data-status="done"' in html and "every 1s" not in html
        job = Job.objects.get(kind="predictions_recompute")
        assert job.status == Job.Status.DONE and job.done == job.total == 12 and job.created_by == specialist
        assert job.result["brands"]["MAIN"]["members"] == 40
        page = client.get(reverse("prediction_page")).content.decode()
    assert 'data-brand="MAIN"' in page and "r = " in page and "Gamma-Gamma" in page


def test_profile_panel_shows_the_members_figures(client, clerk, brands, history):
    predictions_recompute(brands[0], as_of=AS_OF)
    member = history[0]
    p = MemberPrediction.objects.get(member=member, brand=brands[0])
    client.force_login(clerk)
    html = client.get(reverse("member_detail", args=[member.pk])).content.decode()  # in Chinese, the default
    assert 'id="prediction"' in html and f'data-p-alive="{p.p_alive:.4f}"' in html and f"¥{p.clv}" in html
    assert "未来12个月预计价值" in html  # "Expected value in 12 months"


def test_a_failed_fit_is_recorded_and_keeps_the_members_last_good_figures(monkeypatch, client, specialist, brands,
                                                                          history):
    from membercare.prediction import bgnbd, services

    main = brands[0]
    predictions_recompute(main, as_of=AS_OF)
    before = {p.member_id: p.p_alive for p in MemberPrediction.objects.filter(brand=main)}
    real_fit = bgnbd.fit
    monkeypatch.setattr(services.bgnbd, "fit", lambda c: real_fit(c, initial=(50.0, 0.01, 0.01, 50.0), max_iter=1))
    result = predictions_recompute(main, as_of=AS_OF)["MAIN"]
    assert result["status"] == "failed" and not result["converged"]
    latest = PredictionFit.objects.filter(brand=main).latest("fitted_at")
    assert latest.status == "failed" and not latest.converged
    assert {p.member_id: p.p_alive for p in MemberPrediction.objects.filter(brand=main)} == before
    client.force_login(specialist)
    page = client.get(reverse("prediction_page")).content.decode()
    assert 'data-fit-status="failed"' in page


def test_a_brand_being_recomputed_elsewhere_is_skipped_not_run_twice(brands, history):
    import threading

    from django.db import connection, connections

    from membercare.core.locks import exclusive

    main, _sub = brands
    if connection.vendor != "postgresql":  # the demo's one process: a lock of the process
        with exclusive(f"predictions:{main.pk}") as got:
            assert got
            assert predictions_recompute(main, as_of=AS_OF)["MAIN"] == {"skipped": "already running"}
        assert predictions_recompute(main, as_of=AS_OF)["MAIN"]["members"] == 40
        return
    # PostgreSQL: held by another connection (another worker) while this one recomputes: skipped, untouched
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with exclusive(f"predictions:{main.pk}") as got:
                assert got
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(30)
        result = predictions_recompute(main, as_of=AS_OF)
        assert result["MAIN"] == {"skipped": "already running"} and not MemberPrediction.objects.exists()
    finally:
        release.set()
        thread.join(30)
    assert predictions_recompute(main, as_of=AS_OF)["MAIN"]["members"] == 40  # free again
