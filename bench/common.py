"""Shared helpers for the benchmark scripts: Django setup, timing statistics, a plain text table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# production mode (DJANGO_DEBUG=0) refuses the public default keys: benchmarks bring keys of their own
# (for benchmark databases only; ID numbers written by bench_generate under another key are never read here)
BENCH_KEYS = {"DJANGO_SECRET_KEY": "bench-only-secret-key-never-for-a-real-chain-7f3c9a1d2e",
              "MEMBERCARE_FIELD_KEY": "YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMhISE=",
              # production mode also wants the public address and a decision about SMS (the outbox, here)
              "MEMBERCARE_PUBLIC_URL": "http://127.0.0.1:8000", "MESSAGING_OUTBOX_ALLOWED": "1"}


def bench_keys(env: dict | None = None) -> dict:
    """`env` (default os.environ) with the benchmark keys where none are set."""
    env = os.environ if env is None else env
    for name, value in BENCH_KEYS.items():
        env.setdefault(name, value)
    return env


def setup_django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
    bench_keys()
    import django

    django.setup()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "max": max(ms)}


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":  # `env $(.venv/bin/python bench/common.py) membercare bench_generate …`
    print(" ".join(f"{name}={value}" for name, value in BENCH_KEYS.items()))
