"""One write per form: the request-once guard the counter's forms share (a double tap on "Post", a reload of
the POST). The key's row (loyalty.IdempotencyRecord, unique per store and key) is inserted first in the
write's transaction, so a concurrent repeat waits on it and then finds the first result; a repeat returns the
first result instead of writing again. Any other integrity error is the write's own and is raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from membercare.loyalty.models import IdempotencyRecord
from membercare.org.models import Store

T = TypeVar("T")


def once(store: Store, key: str, write: Callable[[], T], *, save: Callable[[T], dict[str, Any]],
         load: Callable[[dict[str, Any]], T]) -> tuple[T, bool]:
    """(`write()`'s result, False) the first time for (store, key); (the first result, True) after.
    `save` turns a result into the JSON kept with the key, `load` turns it back."""
    key = key[:100]
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(store=store, key=key, endpoint="web", request_hash="",
                                                      status_code=0, response={}, created_at=timezone.now())
            result = write()
            record.status_code, record.response = 201, save(result)
            record.save(update_fields=["status_code", "response"])
            return result, False
    except IntegrityError:
        first = IdempotencyRecord.objects.filter(store=store, key=key).first()
        if first is None or not first.response:
            raise  # not the key's row: the write's own integrity error
        return load(first.response), True
