"""Numbers for members, cards and receipts: unique, increasing, gap-tolerant, safe under concurrency.

On PostgreSQL each name is a real database sequence (`nextval` takes no lock that lasts until commit,
so checkouts in many stores do not queue behind one row). Elsewhere (SQLite, which serialises writers
anyway) a NumberSequence row is locked and advanced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import IntegrityError, ProgrammingError, connection, transaction

from .models import NumberSequence

BLOCK_THRESHOLD = 1_000_000  # bigger reservations (bulk loaders) take one consecutive block


_KNOWN: set[tuple[str, str]] = set()  # (database, sequence) seen to exist by this process


def _pg_sequence(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
        raise ValueError(f"bad sequence name {name!r}")
    seq = f"mc_seq_{name}"
    known = (connection.settings_dict["NAME"], seq)
    if known in _KNOWN:  # sequences are never dropped: once seen, no catalogue lookup per number
        return seq
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [seq])
        if cur.fetchone()[0] is None:
            # first use: continue from the table's counter (numbers handed out before sequences existed).
            # Several requests may get here at once: CREATE ... IF NOT EXISTS still races in the catalogue,
            # so it runs in a savepoint and a loser simply uses the winner's sequence.
            start = NumberSequence.objects.filter(name=name).values_list("last", flat=True).first() or 0
            try:
                with transaction.atomic():
                    cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq} MINVALUE 0 START WITH {int(start) + 1}")
            except (IntegrityError, ProgrammingError) as exc:
                # the loser sees either the catalogue's unique index (IntegrityError) or "relation already
                # exists" (DuplicateTable, a ProgrammingError) depending on timing; anything else is an error
                if isinstance(exc, ProgrammingError) and getattr(exc.__cause__, "sqlstate", "") != "42P07":
                    raise
    # remembered once the transaction that saw (or created) it commits: a creation may still roll back
    transaction.on_commit(lambda: _KNOWN.add(known))
    return seq


def reserve_numbers(name: str, count: int = 1) -> Sequence[int]:
    """`count` new numbers of the named sequence, increasing (consecutive unless other callers interleave)."""
    if connection.vendor == "postgresql":
        seq = _pg_sequence(name)
        with connection.cursor() as cur:
            if count >= BLOCK_THRESHOLD:
                cur.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [seq, seq, count])
                end = cur.fetchone()[0]
                return range(end - count + 1, end + 1)
            if count == 1:
                cur.execute("SELECT nextval(%s)", [seq])
                return [cur.fetchone()[0]]
            cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [seq, count])
            return [row[0] for row in cur.fetchall()]
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        seq_row = NumberSequence.objects.select_for_update().get(name=name)
        start = seq_row.last + 1
        seq_row.last += count
        seq_row.save(update_fields=["last"])
    return range(start, start + count)


def next_number_sql(name: str, *, prefix: str, width: int) -> tuple[str, list] | None:
    """On PostgreSQL: an SQL expression (and its parameters) for `prefix` followed by the sequence's next
    number zero-padded to `width` digits, i.e. f"{prefix}{reserve_numbers(name)[0]:0{width}d}", to be
    written into an INSERT (one round trip less). None elsewhere: call reserve_numbers."""
    if connection.vendor != "postgresql":
        return None
    seq = _pg_sequence(name)
    return (f"(SELECT CAST(%s AS text) || CASE WHEN s.n < {10 ** width} THEN lpad(CAST(s.n AS text), {width}, '0') "
            f"ELSE CAST(s.n AS text) END FROM (SELECT nextval(%s) AS n) s)", [prefix, seq])


def advance_to_at_least(name: str, value: int) -> None:
    """Used by bulk loaders that write numbers themselves."""
    if connection.vendor == "postgresql":
        seq = _pg_sequence(name)
        with connection.cursor() as cur:
            cur.execute(f"SELECT setval(%s, GREATEST((SELECT last_value FROM {seq}), %s))", [seq, value])
        return
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        seq_row = NumberSequence.objects.select_for_update().get(name=name)
        if seq_row.last < value:
            seq_row.last = value
            seq_row.save(update_fields=["last"])


def last_number(name: str) -> int:
    """The highest number handed out so far (0 when none)."""
    if connection.vendor == "postgresql":
        seq = _pg_sequence(name)
        with connection.cursor() as cur:
            cur.execute(f"SELECT last_value, is_called FROM {seq}")
            value, called = cur.fetchone()
        return value if called else value - 1
    return NumberSequence.objects.filter(name=name).values_list("last", flat=True).first() or 0
