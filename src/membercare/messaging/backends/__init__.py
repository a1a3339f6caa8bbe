"""Channels behind one interface. settings.MESSAGING_BACKENDS maps a channel to a backend class path."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Backend, PermanentFailure, SendResult, TemporaryFailure

__all__ = ["Backend", "PermanentFailure", "SendResult", "TemporaryFailure", "get_backend", "reset_backends"]


@cache
def get_backend(channel: str) -> Backend:
    spec = settings.MESSAGING_BACKENDS[channel]
    if isinstance(spec, str):
        spec = {"class": spec}
    options = {k: v for k, v in spec.items() if k != "class"}
    return import_string(spec["class"])(channel=channel, **options)


def reset_backends() -> None:
    """Forget the configured backends (tests change settings.MESSAGING_BACKENDS)."""
    get_backend.cache_clear()
