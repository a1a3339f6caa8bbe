"""The demo generator's people-shaped values: Chinese names, phone numbers, lunar birthdays, ID numbers."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

from membercare.core.idnumber import id_check_char

from . import data
from .gen_common import EPOCH
from .loader import (
    civil_from_days,
)

_SURNAME_CHARS = np.array([s for s, _p, _w in data.SURNAMES], dtype=object)
SURNAME_PINYIN = np.array([p for _s, p, _w in data.SURNAMES], dtype=object)
_SURNAME_P = np.array([w for _s, _p, w in data.SURNAMES], dtype=float)
_SURNAME_P /= _SURNAME_P.sum()


def make_names(rng: np.random.Generator, male: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Chinese names: a weighted common surname and a 1-2 character given name by gender."""
    n = len(male)
    surname = rng.choice(len(_SURNAME_CHARS), n, p=_SURNAME_P)
    gm, gf = np.array(data.GIVEN_MALE, dtype=object), np.array(data.GIVEN_FEMALE, dtype=object)
    neutral = np.array(data.GIVEN_FIRST_NEUTRAL, dtype=object)
    single = rng.random(n) < 0.2
    first = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    first = np.where(~single & (rng.random(n) < 0.3), neutral[rng.integers(0, len(neutral), n)], first)
    second = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    second[single] = ""
    names = [s + a + b for s, a, b in zip(_SURNAME_CHARS[surname].tolist(), first.tolist(), second.tolist(),
                                          strict=True)]
    return names, surname


def make_phones(rng: np.random.Generator, n: int, exclude: set[str] | None = None) -> np.ndarray:
    """n distinct mainland mobile numbers (1[3-9] + 9 digits) as int64, none in `exclude`."""
    prefixes = np.array(data.PHONE_PREFIXES, dtype=np.int64)
    taken = np.array(sorted(int(p) for p in exclude or ()), dtype=np.int64)
    out = np.zeros(0, dtype=np.int64)
    while len(out) < n:
        need = n - len(out)
        batch = prefixes[rng.integers(0, len(prefixes), need)] * 100_000_000 + rng.integers(0, 100_000_000, need)
        merged = np.concatenate([out, batch])
        _u, first = np.unique(merged, return_index=True)
        keep = np.zeros(len(merged), dtype=bool)
        keep[first] = True
        if len(taken):
            keep &= ~np.isin(merged, taken)
        out = merged[keep]
    return out[:n]


@cache
def _lunar_of(day: int) -> tuple[int, int, bool]:
    from lunardate import LunarDate

    convert = getattr(LunarDate, "from_solar_date", None) or LunarDate.fromSolarDate
    lunar = convert(*(EPOCH + dt.timedelta(days=day)).timetuple()[:3])
    leap = getattr(lunar, "is_leap_month", None)
    return lunar.month, lunar.day, bool(lunar.isLeapMonth if leap is None else leap)


def lunar_birthdays(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lunar month, day and leap flag of solar dates (days since 1970-01-01)."""
    uniq, inverse = np.unique(days, return_inverse=True)
    table = np.array([_lunar_of(int(d)) for d in uniq], dtype=np.int64).reshape(-1, 3)
    return table[inverse, 0], table[inverse, 1], table[inverse, 2].astype(bool)


def id_numbers(rng: np.random.Generator, area: np.ndarray, birth_days: np.ndarray, male: np.ndarray) -> list[str]:
    """Valid 18-character resident ID numbers (GB 11643): area, birth date, sequence (odd for men), check."""
    y, m, d = ymd(birth_days)
    seq = rng.integers(0, 500, len(area)) * 2 + male.astype(np.int64)  # odd = male
    first17 = [f"{a:06d}{yy:04d}{mm:02d}{dd:02d}{s:03d}" for a, yy, mm, dd, s in
               zip(area.tolist(), y.tolist(), m.tolist(), d.tolist(), seq.tolist(), strict=True)]
    return [f + id_check_char(f) for f in first17]


def ymd(days: np.ndarray):

    return civil_from_days(days)
