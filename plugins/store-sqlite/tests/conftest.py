"""Shared builders for the store-sqlite tests (real SQLite files under tmp_path)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.profiles import ActorProfile, uniform_prior

CATEGORIES = ("spoofing", "layering", "wash_trade", "quote_stuffing")
SEVERITIES = ("low", "medium", "high", "critical")


def build_finding(i: int, **overrides: Any) -> AnomalyFinding:
    """The i-th finding of a deterministic sequence, finalised as the engine does."""
    fields: dict[str, Any] = dict(
        detector="spoofing" if i % 2 == 0 else "layering",
        category=CATEGORIES[i % len(CATEGORIES)],
        severity=SEVERITIES[i % len(SEVERITIES)],
        confidence=round(0.5 + (i % 50) / 100, 2),
        market_id=f"M{i % 3}", venue="hyperliquid" if i % 5 else "polymarket",
        actor_id=f"0xactor{i % 7}", message=f"finding {i}", citation="CFTC 4c(a)(5)(C)",
        evidence={"i": i, "bait_size": 500.0 + i, "ratio": i / 7, "levels": [1, 2, i]},
        ts=1_732_147_200_000_000_000 + i * 1_000_000)
    fields.update(overrides)
    seq = fields.pop("seq", i + 1)
    return AnomalyFinding.make(**fields).with_identity(seq=seq)


def build_profile(actor: str, n: int, *, venue: str = "hyperliquid", ts: int | None = None
                  ) -> ActorProfile:
    return ActorProfile(venue=venue, actor_id=actor, event_count=n,
                        features={"placements": n, "cancel_ratio": n / (n + 1)},
                        taxonomy=uniform_prior(), last_updated_seq=n,
                        ts=ts if ts is not None else 1_000 + n)


@pytest.fixture
def finding() -> Callable[..., AnomalyFinding]:
    return build_finding


@pytest.fixture
def profile() -> Callable[..., ActorProfile]:
    return build_profile


def raw_rows(path: Path, table: str, order: str) -> list[tuple[Any, ...]]:
    """Rows read with the sqlite3 module directly, bypassing the store."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    finally:
        conn.close()


@pytest.fixture
def rows() -> Callable[[Path, str, str], list[tuple[Any, ...]]]:
    return raw_rows
