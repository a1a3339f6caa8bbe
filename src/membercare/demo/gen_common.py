"""The demo generator's shared pieces: its settings (GenConfig), constants, and the random streams per part."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from membercare.loyalty.models import CardKind
from membercare.org.models import Role

DEMO_PASSWORD = "demo1234"
DAY = 86400
TZ_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
EPOCH = dt.date(1970, 1, 1)

# Card numbers: 10 digits, first digit by kind, then a 9-digit number from the "card" sequence.
CARD_PREFIX = {CardKind.ACCUMULATION: 6, CardKind.KNIGHT: 7, CardKind.ELITE: 8, CardKind.DIAMOND: 9}
CARD_NUMBER_SEQUENCE = "card"
RECEIPT_NUMBER_SEQUENCE = "receipt"
MEMBER_NUMBER_SEQUENCE = "member"

# Tier thresholds of the default programme (DOMAIN.md), in cents of paid amounts.
ELITE_BUSINESS, ELITE_LEATHER_GOLF, ELITE_12M = 500_000, 300_000, 800_000
DIAMOND_SINGLE, DIAMOND_12M = 1_500_000, 2_000_000
KNIGHT_SINGLE, KNIGHT_12M = 300_000, 800_000
TIER_DISCOUNT = {1: 1000, 2: 850, 3: 800, 4: 850}  # permille paid of full price, by card rank below

# Fixed demo logins, one per role.
DEMO_LOGINS = [
    ("clerk", Role.CLERK), ("manager", Role.MANAGER), ("specialist", Role.SPECIALIST), ("admin", Role.ADMIN),
]


@dataclass
class GenConfig:
    members: int = 5000
    receipts: int | None = None  # None: each member's natural history (demo); else exactly this many
    seed: int = 42
    stores: int = 12
    today: dt.date | None = None
    history_days: int = 1000  # purchase history: about 2.7 years up to yesterday
    purchaser_share: float = 0.9
    id_number_share: float = 0.15
    lunar_share: float = 0.2
    drop_indexes: bool = True
    chunk_rows: int = 500_000


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, username, password, store


def stream(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *part.encode()]))


def day_number(date: dt.date) -> int:
    return (date - EPOCH).days


def pick(rng: np.random.Generator, n: int, options: list[str], share: float,
          p: list[float] | None = None) -> np.ndarray:
    """n values from options, '' for the (1 - share) left blank."""
    arr = np.array(options, dtype=object)[rng.choice(len(options), n, p=p)]
    arr[rng.random(n) >= share] = ""
    return arr
