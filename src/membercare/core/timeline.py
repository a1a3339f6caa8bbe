"""The member timeline: each app registers a source of events (purchases, contacts, complaints, ...).

A source is a function (member, limit) -> list[TimelineEvent]. Later apps register their own in
AppConfig.ready(), so the profile page never needs to know them.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.functional import Promise


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str  # "purchase", "contact", "complaint", "message", "change", ...
    title: str | Promise
    detail: str = ""
    extra: dict = field(default_factory=dict)


TimelineSource = Callable[..., list[TimelineEvent]]
_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(kind: str, source: TimelineSource) -> None:
    _SOURCES[kind] = source


def timeline_sources() -> dict[str, TimelineSource]:
    return dict(_SOURCES)
