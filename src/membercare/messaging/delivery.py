"""The delivery worker: takes due messages in batches, sends them through their channel's backend, and
records the outcome; retries temporary failures with exponential backoff.

Exactly once: a message is claimed (status "sending") in its own committed transaction before it goes to
the provider, and marked "sent" right after. A worker that dies in between leaves it "sending";
`recover_interrupted` asks the backend whether the provider has it (the outbox file, the SMS provider's
send log by our message id) and marks it sent, puts it back in the queue, or — when nobody can tell —
marks it "unknown" for a person to decide. A claimed message is never sent again automatically.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from .backends import PermanentFailure, SendResult, TemporaryFailure, get_backend
from .config import messaging_config
from .models import Message, MessageStatus, OptOut

STALE_AFTER = dt.timedelta(minutes=10)


def _claim(limit: int, now: dt.datetime) -> list[Message]:
    with transaction.atomic():
        due = Message.objects.filter(status=MessageStatus.QUEUED, send_after__lte=now).order_by("send_after", "pk")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, claimed_at=now)
    return list(Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING, claimed_at=now).order_by("pk"))


def _backoff(attempts: int, config: dict) -> dt.timedelta:
    retry = config["retry"]
    return dt.timedelta(seconds=float(retry["backoff_seconds"]) * float(retry["backoff_factor"]) ** (attempts - 1))


def deliver_due(*, limit: int = 500, now: dt.datetime | None = None) -> dict[str, int]:
    """Send one batch of due messages. Returns counts by outcome (sent, retry, failed, skipped)."""
    now = now or timezone.now()
    config = messaging_config()
    batch = _claim(limit, now)
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    if not batch:
        return counts
    opted = set(OptOut.objects.filter(member_id__in={m.member_id for m in batch})
                .values_list("member_id", "channel"))
    by_channel: dict[str, list[Message]] = defaultdict(list)
    skipped: list[Message] = []
    for message in batch:
        if (message.member_id, message.channel) in opted:  # opted out after the message was queued
            message.status, message.skip_reason = MessageStatus.SKIPPED, "opted_out"
            skipped.append(message)
        else:
            by_channel[message.channel].append(message)
    done: list[Message] = list(skipped)
    for channel, messages in by_channel.items():
        for message in messages:
            message.attempts += 1
        try:
            results = get_backend(channel).send_many(messages)
        except Exception as exc:  # a backend bug must not lose the batch: treat as temporary
            results = [TemporaryFailure(f"{type(exc).__name__}: {exc}") for _m in messages]
        sent_at = timezone.now()
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, SendResult):
                message.status, message.sent_at = MessageStatus.SENT, sent_at
                message.provider_id, message.segments, message.last_error = result.provider_id, result.segments, ""
            elif isinstance(result, TemporaryFailure) and message.attempts < int(config["retry"]["max_attempts"]):
                wait = dt.timedelta(seconds=result.retry_after) if result.retry_after else _backoff(
                    message.attempts, config)
                message.status, message.send_after = MessageStatus.QUEUED, sent_at + wait
                message.last_error = str(result)[:300]
            else:
                message.status = MessageStatus.FAILED
                message.last_error = str(result if isinstance(result, TemporaryFailure | PermanentFailure)
                                         else result)[:300]
            done.append(message)
    _record(done)
    for message in done:
        key = {MessageStatus.SENT: "sent", MessageStatus.QUEUED: "retry", MessageStatus.FAILED: "failed",
               MessageStatus.SKIPPED: "skipped"}[message.status]
        counts[key] += 1
    return counts


def _record(done: list[Message]) -> None:
    """Write the outcomes: one UPDATE per group of messages with the same outcome (a batch of a thousand sent
    messages is one statement), per message only where the provider gave its own reference."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    singles: list[Message] = []
    for m in done:
        if m.provider_id:
            singles.append(m)
        else:  # a retry moves send_after; otherwise it stays as it was
            retry_at = m.send_after if m.status == MessageStatus.QUEUED else None
            groups[(m.status, m.sent_at, m.segments, m.last_error, retry_at, m.attempts, m.skip_reason)].append(m.pk)
    with transaction.atomic():
        for (status, sent_at, segments, last_error, retry_at, attempts, skip_reason), ids in groups.items():
            fields = {"status": status, "sent_at": sent_at, "segments": segments, "last_error": last_error,
                      "attempts": attempts, "skip_reason": skip_reason}
            if retry_at is not None:
                fields["send_after"] = retry_at
            Message.objects.filter(pk__in=ids).update(**fields)
        if singles:
            Message.objects.bulk_update(singles, ["status", "sent_at", "provider_id", "segments", "last_error",
                                                  "send_after", "attempts", "skip_reason"], batch_size=500)


def deliver_all(*, limit: int = 500, now: dt.datetime | None = None, max_batches: int | None = None
                ) -> dict[str, int]:
    """Send batches until nothing is due (the worker's loop body; tests and the bench call it)."""
    total = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    batches = 0
    recover_interrupted(now=now)
    while max_batches is None or batches < max_batches:
        counts = deliver_due(limit=limit, now=now)
        batches += 1
        for key, value in counts.items():
            total[key] += value
        if not any(counts.values()):
            break
    from .bulk import bulks_finish

    bulks_finish()
    return total


def recover_interrupted(*, now: dt.datetime | None = None, stale_after: dt.timedelta = STALE_AFTER) -> int:
    """Settle messages a dead worker left "sending": sent if the provider has them, queued again if it
    surely has not, "unknown" otherwise. Returns how many were settled."""
    now = now or timezone.now()
    stale = list(Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - stale_after))
    known: dict[str, set[int]] = {}  # backends that can list what they sent are read once
    for message in stale:
        backend = get_backend(message.channel)
        if hasattr(backend, "sent_ids"):
            if message.channel not in known:
                known[message.channel] = backend.sent_ids()
            verdict = message.pk in known[message.channel]
        else:
            verdict = backend.was_sent(message)
        if verdict is True:
            message.status, message.sent_at = MessageStatus.SENT, message.claimed_at
        elif verdict is False:
            message.status = MessageStatus.QUEUED
        else:
            message.status = MessageStatus.UNKNOWN
    if stale:
        Message.objects.bulk_update(stale, ["status", "sent_at"], batch_size=1000)
    return len(stale)
