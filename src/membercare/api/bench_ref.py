"""The benchmark's reference: a bare endpoint doing one INSERT and one UPDATE in one transaction.

Mounted only when MEMBERCARE_BENCH_ENDPOINT=1 (bench/bench_checkout.py creates its two tables), twice: at
/api/bench/ref as a django-ninja route (the framework the checkout uses) and at /api/bench-plain/ref as a
plain Django view (no django-ninja). Not part of the product."""

import json
import random

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from ninja import Router

router = Router(auth=None, tags=["bench"])
COUNTER_ROWS = 1000


@router.post("/ref", include_in_schema=False)
def bench_ref(request: HttpRequest):
    return _insert_and_update(request)


@csrf_exempt
@require_POST
def bench_ref_plain(request: HttpRequest):
    return _insert_and_update(request)


def _insert_and_update(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body or b"{}")
    row = random.randint(1, COUNTER_ROWS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ref_log (n, body, at) VALUES (%s, %s, now())", [row, json.dumps(body)])
        cursor.execute("UPDATE bench_ref_counter SET hits = hits + 1 WHERE id = %s", [row])
    return JsonResponse({"ok": True, "row": row}, status=201)
