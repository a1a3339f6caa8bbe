"""The apps' layer order, lowest floor first: an app may import from the floors below its own only.

tests/architecture/test_imports.py enforces it (with ast, over every module of src/membercare except
migrations) and fails naming each import that points sideways or up. Apps on one floor may not import each
other. Events flow upward through Django signals or a registry the lower app offers (e.g.
core.timeline.register_timeline_source, care.rules.register_rule, members.signals.member_referred).
The project's shell (settings, urls, wsgi, celery_app, manage) sits above every floor.
"""

from __future__ import annotations

LAYERS: list[tuple[str, ...]] = [
    ("org",),  # companies, brands, regions, stores, staff and roles: imports nothing of ours
    ("core",),  # shared tools (permissions by role and store, sequences, jobs, SQL helpers, versioned settings)
    ("members",),  # the member file: registration, validation, import and export
    ("sales",),  # receipts and lines; the sale pipeline's floor (sales.pipeline: types, provider registry), signals
    ("loyalty",),  # cards, tiers, points, the programme; its sale providers (identify, card discount, points)
    ("care",),  # segments, the care rules and tasks, the daily job
    ("messaging",),  # templates, messages, bulk sends, delivery
    ("service", "events"),  # complaints, gifts and surveys / VIP events, exclusive sales, referrals
    ("campaigns",),  # coupons; its results page sets coupon batches beside events' and bulk sends' results
    ("storedvalue",),  # stored value (储值卡): cards, their ledger, top-ups, refunds; its tender of the sale pipeline
    ("checkout",),  # the sale pipeline and offline uploads: above every provider (loyalty, events, campaigns)
    ("analytics",),  # facts and dashboards over everything below
    ("prediction",),  # BG/NBD and Gamma-Gamma fits over care's purchase days; registers its care rule
    ("privacy",),  # a member's data exported or erased on request (PIPL): reaches into every app below
    ("api", "web", "membercentre"),  # the POS API, the staff web pages, the member centre (/m/, the member's phone)
    ("demo",),  # demo data through the services of every app
]

# named in LAYERS before the app exists (none now: issue 15 part 1 created checkout)
PLANNED: frozenset[str] = frozenset()

