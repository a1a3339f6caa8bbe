"""The demo's channel: messages go to a local file, one JSON line each (var/outbox/<channel>.jsonl)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings

from .base import Backend, SendResult


class OutboxBackend(Backend):
    def __init__(self, channel: str, path: str | None = None, **options):
        super().__init__(channel, **options)
        self.path = Path(path or Path(settings.VAR_DIR) / "outbox" / f"{channel}.jsonl")

    def _line(self, message) -> str:
        return json.dumps({"id": message.pk, "to": message.to, "subject": message.subject, "body": message.body,
                           "category": message.category}, ensure_ascii=False) + "\n"

    def send_many(self, messages: list) -> list[SendResult]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(self._line(m) for m in messages).encode()
        with open(self.path, "ab") as fh:  # one write per batch, flushed to disk before we report "sent"
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if self.channel == "sms":  # billed like a real SMS: segments of 70 characters
            from ..config import messaging_config
            from ..policy import sms_segments

            config = messaging_config()
            return [SendResult(segments=sms_segments(m.body, config)) for m in messages]
        return [SendResult(segments=1) for m in messages]

    def send(self, message) -> SendResult:
        return self.send_many([message])[0]

    def sent_ids(self) -> set[int]:
        if not self.path.exists():
            return set()
        ids = set()
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    ids.add(int(json.loads(line)["id"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash (that message was not sent), or a code to a new phone
        return ids

    def was_sent(self, message) -> bool | None:
        return message.pk in self.sent_ids()
