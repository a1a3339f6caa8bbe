"""Hold-out groups: a random but reproducible share of an audience that gets nothing (the control group).

Membership is a pure function of (member id, seed): a multiplicative hash of the id, shifted by the seed,
falls below share x 2^32. It is computed in SQL (the same on SQLite and PostgreSQL, 64-bit integers), so a
preview can count it in the same aggregate as everything else, and the same seed always picks the same
members. Used by bulk sends (messaging.bulk) and event invitations (events.services).
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, QuerySet, Value

_MOD = 2**32
_MULT = 2654435761  # Knuth's multiplicative hash (golden ratio x 2^32)


def new_seed() -> int:
    return secrets.randbelow(1_000_000) + 1


def _bucket(seed: int):
    offset = (seed * 2246822519) % _MOD
    return ExpressionWrapper((F("pk") * Value(_MULT) % Value(_MOD) + Value(offset)) % Value(_MOD),
                             output_field=BigIntegerField())


def holdout_threshold(share: Decimal | float | str) -> int:
    share = Decimal(str(share or 0))
    if share <= 0:
        return 0
    return int(share * _MOD)


def with_holdout(members: QuerySet, share, seed: int) -> QuerySet:
    """The members annotated with `in_holdout_bucket` (compare with holdout_threshold(share))."""
    return members.alias(holdout_bucket=_bucket(seed))


def holdout_q(share, seed: int) -> Q:
    """The hold-out members of a queryset passed through with_holdout()."""
    threshold = holdout_threshold(share)
    return Q(holdout_bucket__lt=threshold) if threshold else Q(pk__in=[])


def split(members: QuerySet, share, seed: int) -> tuple[QuerySet, QuerySet]:
    """(receivers, hold-out) of an audience queryset."""
    annotated = with_holdout(members, share, seed)
    q = holdout_q(share, seed)
    return annotated.exclude(q), annotated.filter(q)
