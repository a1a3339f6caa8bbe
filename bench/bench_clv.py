"""Benchmark: member value prediction (BG/NBD + Gamma-Gamma) on the bench data set, ours beside lifetimes.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench   # bench_generate's data set
    .venv/bin/pip install -c requirements.lock -e '.[bench]'                                        # lifetimes + pandas
    flock /tmp/bench.lock .venv/bin/python bench/bench_clv.py [--date YYYY-MM-DD] [--plain] [--no-library]
                                                                [--summary-only]

First, the weekly summary per brand (issue 23), on the brands of the data set:
(w1) care's tables brought up to date (refresh_purchase_days: the first run builds the purchase days and the
     per-brand tables from every receipt, once; committed, as the daily care job would);
(w2) a week of receipts folded in incrementally (the cursors set back by the receipts sold in the 7 days up to
     --date, then refresh_purchase_days; rolled back): the daily jobs' work of a week, in one run;
(w3) the weekly summary: brand_summary(brand, date) for every brand, which reads care's per-brand summary table
     (the route "summary"), against (w4) the full read of the receipts for every brand (route "receipts") and
     (w5) the brand's purchase-day table (route "purchase_days", the route of a past date) — the three must give
     the same arrays, and BG/NBD and Gamma-Gamma fitted on the summary and on the receipts the same estimates.
Then (unless --summary-only), in the same process, on the whole chain's history (~1,000,000 members):
(a) the SQL summary (x, t_x, T, m_x per member, aggregated in PostgreSQL and fetched as arrays);
(b) compression of the members into distinct (x, t_x, T) rows;
(c) our BG/NBD fit and (d) our Gamma-Gamma fit (analytic gradients, L-BFGS-B) — the target is (c)+(d) < 5 s;
(e) predictions for every member and (f) their write (COPY), rolled back: the data set is left unchanged;
(g) `--plain`: the same BG/NBD likelihood fitted by scipy with numerical gradients on uncompressed rows;
(h) lifetimes' BetaGeoFitter and GammaGammaFitter on the same arrays (skipped with --no-library or when
    lifetimes is not installed: `pip install -c requirements.lock -e '.[bench]'`), estimates side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, table  # noqa: E402


class Rollback(Exception):
    pass


def timed(label: str, laps: dict, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    laps[label] = time.perf_counter() - started
    print(f"{label}: {laps[label]:.2f} s", flush=True)
    return out


def weekly_summary(as_of: dt.date) -> None:
    """(w1)-(w5): the weekly summary per brand against the full read of the receipts."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from membercare.care import purchase_days
    from membercare.care.models import CareCursor
    from membercare.org.models import Brand
    from membercare.prediction import bgnbd, gammagamma
    from membercare.prediction.summary import brand_summary

    laps: dict[str, float] = {}
    first = not CareCursor.objects.filter(name=purchase_days.BRAND_CURSOR).exists()
    timed("care tables: first build" if first else "care tables: catch up", laps, purchase_days.refresh_purchase_days)
    with connection.cursor() as cur:  # a week's receipts: the ids folded in again are the last that many
        cur.execute("SELECT COUNT(*) FROM sales_receipt WHERE sold_at >= %s",
                    [timezone.make_aware(dt.datetime.combine(as_of - dt.timedelta(days=6), dt.time()))])
        week = cur.fetchone()[0]
    try:
        with transaction.atomic():
            top = CareCursor.objects.get(name=purchase_days.CURSOR).value
            CareCursor.objects.filter(name__in=[purchase_days.CURSOR, purchase_days.BRAND_CURSOR]).update(
                value=top - week)
            timed(f"a week folded in ({week:,} receipts, rolled back)", laps, purchase_days.refresh_purchase_days)
            raise Rollback
    except Rollback:
        pass
    brands = list(Brand.objects.order_by("pk"))
    routes = {"summary": "weekly summary (summary table)", "receipts": "full read of the receipts",
              "purchase_days": "purchase-day table (a past date's route)"}
    got: dict[str, dict[int, object]] = {route: {} for route in routes}
    for route, label in routes.items():
        for brand in brands:
            s = timed(f"{label}: {brand.code}", laps, brand_summary, brand.pk, as_of,
                      route="auto" if route == "summary" else route)
            assert s.source == route, (s.source, route)
            got[route][brand.pk] = s
        laps[label] = sum(laps[f"{label}: {b.code}"] for b in brands)
    rows = []
    for brand in brands:
        want = got["receipts"][brand.pk]
        for route in ("summary", "purchase_days"):
            s = got[route][brand.pk]
            same = (np.array_equal(s.member_id, want.member_id) and np.array_equal(s.x, want.x)
                    and np.array_equal(s.t_x_days, want.t_x_days) and np.array_equal(s.T_days, want.T_days)
                    and np.allclose(s.monetary, want.monetary, rtol=0, atol=1e-9))
            print(f"{brand.code}: {route} = receipts: {same} ({len(s):,} members)")
            assert same, f"{brand.code}: the {route} route differs from the receipts"
        for route in ("summary", "receipts"):
            s = got[route][brand.pk]
            bg = bgnbd.fit(bgnbd.compress(s.x, s.t_x, s.T))
            gg = gammagamma.fit(gammagamma.prepare(s.x, s.monetary))
            rows.append([brand.code, route, f"{len(s):,}", *(f"{v:.6f}" for v in bg.params.values()),
                         *(f"{v:.4f}" for v in gg.params.values())])
        assert rows[-1][3:] == rows[-2][3:], "different estimates"
    weekly, full = laps[routes["summary"]], laps[routes["receipts"]]
    print()
    print(table(["brand", "read", "members", "r", "alpha", "a", "b", "p", "q", "v"], rows))
    print()
    print(table(["step", "seconds"], [[k, f"{v:.2f}"] for k, v in laps.items()]))
    print(f"\nweekly summary, every brand: {weekly:.2f} s (target <= 5 s); full read of the receipts: {full:.2f} s "
          f"({full / weekly:.1f}x); same arrays and estimates\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--date", default="", help="history up to this day (default today)")
    parser.add_argument("--plain", action="store_true", help="also fit with numerical gradients, uncompressed")
    parser.add_argument("--no-library", action="store_true", help="skip the lifetimes comparison")
    parser.add_argument("--summary-only", action="store_true", help="only the weekly summary per brand (w1-w5)")
    args = parser.parse_args()
    setup_django()
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone
    from scipy import optimize

    from membercare.org.models import Brand
    from membercare.prediction import bgnbd, gammagamma
    from membercare.prediction.services import predict, write_predictions
    from membercare.prediction.summary import brand_summary

    lifetimes = None
    if not args.no_library:
        try:
            import lifetimes  # noqa: F401
        except ImportError:
            print("lifetimes is not installed: pip install -c requirements.lock -e '.[bench]' "
                  "(or run with --no-library)", file=sys.stderr)
            sys.exit(2)

    as_of = dt.date.fromisoformat(args.date) if args.date else timezone.localdate()
    print(f"database: {connection.settings_dict['NAME']} ({connection.vendor}), history up to {as_of}")
    weekly_summary(as_of)
    if args.summary_only:
        return
    laps: dict[str, float] = {}
    s = timed("SQL summary", laps, brand_summary, None, as_of)
    repeat = int((s.x > 0).sum())
    print(f"members: {len(s):,}; with repeat purchases: {repeat:,}; purchase days: {int(s.x.sum()) + len(s):,}")
    c = timed("compression", laps, bgnbd.compress, s.x, s.t_x, s.T)
    print(f"distinct (x, t_x, T) rows: {len(c):,}")
    bg = timed("BG/NBD fit (ours)", laps, bgnbd.fit, c)
    d = timed("Gamma-Gamma prepare", laps, gammagamma.prepare, s.x, s.monetary)
    gg = timed("Gamma-Gamma fit (ours)", laps, gammagamma.fit, d)
    ours = laps["BG/NBD fit (ours)"] + laps["Gamma-Gamma fit (ours)"]
    with_compression = ours + laps["compression"] + laps["Gamma-Gamma prepare"]
    print(f"our two fits: {ours:.2f} s (with compression and preparation: {with_compression:.2f} s; "
          f"target < 5 s) bg: {bg.iterations} it, converged={bg.converged}; gg: {gg.iterations} it, "
          f"converged={gg.converged}")
    figures = timed("predictions", laps, predict, bg.params, gg.params, s, c)
    try:
        with transaction.atomic():
            brand_id = Brand.objects.order_by("pk").values_list("pk", flat=True).first()
            if "prediction_memberprediction" not in connection.introspection.table_names():
                # not migrated: a temporary table of the same shape (session-local, dropped at the rollback)
                print("(prediction tables not migrated here: writing to a temporary table of the same shape)")
                with connection.cursor() as cur:
                    cur.execute("""CREATE TEMP TABLE prediction_memberprediction (
                        member_id bigint NOT NULL, brand_id bigint NOT NULL, p_alive double precision NOT NULL,
                        expected_purchases_12m double precision NOT NULL, expected_spend numeric(12, 2) NOT NULL,
                        clv numeric(14, 2) NOT NULL, frequency integer NOT NULL, recency_days integer NOT NULL,
                        age_days integer NOT NULL, computed_at timestamptz NOT NULL,
                        PRIMARY KEY (member_id, brand_id)) ON COMMIT DROP""")
                    cur.execute("CREATE INDEX ON prediction_memberprediction (p_alive)")
            timed("write (COPY, rolled back)", laps, write_predictions, brand_id, s, figures)
            raise Rollback
    except Rollback:
        pass

    rows = [["BG/NBD ours", *(f"{v:.4f}" for v in bg.params.values()), f"{bg.loglik:.1f}",
             f"{laps['BG/NBD fit (ours)']:.2f}"],
            ["Gamma-Gamma ours", *(f"{v:.4f}" for v in gg.params.values()), "", f"{gg.loglik:.1f}",
             f"{laps['Gamma-Gamma fit (ours)']:.2f}"]]
    if args.plain:
        def plain(log_params):  # noqa: ANN001, ANN202
            return -bgnbd.loglik_rows(np.exp(log_params), s.x, s.t_x, s.T).sum() / len(s)

        started = time.perf_counter()
        res = optimize.minimize(plain, np.log([1.0, 10.0, 1.0, 1.0]),
                                method="L-BFGS-B", bounds=[(-20, 20)] * 4)
        laps["BG/NBD plain scipy"] = time.perf_counter() - started
        rows.append(["BG/NBD plain scipy (numerical gradient)", *(f"{v:.4f}" for v in np.exp(res.x)),
                     f"{-res.fun * len(s):.1f}", f"{laps['BG/NBD plain scipy']:.2f}"])
    if not args.no_library:
        import warnings

        from lifetimes import BetaGeoFitter, GammaGammaFitter

        warnings.simplefilter("ignore")
        started = time.perf_counter()
        lbg = BetaGeoFitter().fit(s.x, s.t_x, s.T)
        laps["BG/NBD lifetimes"] = time.perf_counter() - started
        print(f"BG/NBD lifetimes: {laps['BG/NBD lifetimes']:.2f} s", flush=True)
        keep = (s.x > 0) & (s.monetary > 0)
        started = time.perf_counter()
        lgg = GammaGammaFitter().fit(s.x[keep], s.monetary[keep])
        laps["Gamma-Gamma lifetimes"] = time.perf_counter() - started
        lbg_ll = float(bgnbd.loglik_rows(tuple(lbg.params_[k] for k in bgnbd.PARAM_NAMES), s.x, s.t_x, s.T).sum())
        lgg_ll = float(gammagamma.loglik_rows(tuple(lgg.params_[k] for k in gammagamma.PARAM_NAMES),
                                              s.x[keep], s.monetary[keep]).sum())
        rows.append(["BG/NBD lifetimes", *(f"{lbg.params_[k]:.4f}" for k in bgnbd.PARAM_NAMES), f"{lbg_ll:.1f}",
                     f"{laps['BG/NBD lifetimes']:.2f}"])
        rows.append(["Gamma-Gamma lifetimes", *(f"{lgg.params_[k]:.4f}" for k in gammagamma.PARAM_NAMES), "",
                     f"{lgg_ll:.1f}", f"{laps['Gamma-Gamma lifetimes']:.2f}"])
        lib = laps["BG/NBD lifetimes"] + laps["Gamma-Gamma lifetimes"]
        print(f"lifetimes' two fits: {lib:.2f} s; ours {ours:.2f} s ({lib / ours:.1f}x faster)")
    print()
    print(table(["fit", "r | p", "alpha | q", "a | v", "b", "log-likelihood", "seconds"], rows))
    print()
    print(table(["step", "seconds"], [[k, f"{v:.2f}"] for k, v in laps.items()]))


if __name__ == "__main__":
    main()
