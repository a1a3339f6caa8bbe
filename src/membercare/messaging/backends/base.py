"""The channel interface. A backend sends one message, or a batch, and says for each: sent (with the
provider's reference and the billed segments), failed for now (retry later), or failed for good."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SendResult:
    provider_id: str = ""
    segments: int = 1


class TemporaryFailure(Exception):
    """Timeouts, 5xx, rate limits: try again later (after `retry_after` seconds when the provider says)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The provider refused the message itself (a bad number, a template not approved): do not retry."""


class Backend:
    channel: str = ""

    def __init__(self, channel: str, **options):
        self.channel = channel
        self.options = options

    def send(self, message) -> SendResult:
        raise NotImplementedError

    def send_many(self, messages: list) -> list[SendResult | Exception]:
        """Send a batch; one result (or the exception) per message, in order. Backends that can batch
        override this."""
        results: list[SendResult | Exception] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except (TemporaryFailure, PermanentFailure) as exc:
                results.append(exc)
        return results

    def was_sent(self, message) -> bool | None:
        """After a crash while sending: True if the provider has the message, False if surely not, None if
        it cannot tell (the message is then left for a person to decide, never sent twice)."""
        return None
