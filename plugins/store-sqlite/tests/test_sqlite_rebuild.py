"""The flow store rebuilt from the audit log alone reproduces the findings table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from horizon_flow_store_sqlite import (
    SQLiteAuditSink,
    SQLiteFlowStore,
    rebuild_from_audit,
    verify_store,
)

from horizon_flow_core.audit import AuditLog
from horizon_flow_core.engine import FlowEngine
from horizon_flow_core.errors import StoreError
from horizon_flow_core.events import make_event
from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.profiles import ActorProfile, uniform_prior


class BigOrder:
    """A detector: any placement above 100 is a finding (sometimes a 'bot')."""

    name = "big_order"
    kinds = frozenset({"order.placed"})

    def on_event(self, ev, ctx):
        if (ev.size or 0) <= 100:
            return None
        bot = ev.size > 400
        return [AnomalyFinding.make(
            detector=self.name, category="spoofing", severity="critical" if bot else "medium",
            confidence=0.95 if bot else 0.6, market_id=ev.market_id, actor_id=ev.actor_id,
            message=f"placed {ev.size}", citation="test rule",
            evidence={"size": ev.size, "price": ev.price, "order_id": ev.order_id})]


class CountingProfiler:
    """A profiler: a snapshot on an actor's first event and every third after."""

    name = "counting"
    kinds = None

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def _snap(self, venue: str, actor: str, seq: int, ts: int) -> ActorProfile:
        n = self.counts[(venue, actor)]
        return ActorProfile(venue, actor, n, {"events": n, "rate": n / 3}, uniform_prior(),
                            seq, ts)

    def observe(self, ev, seq):
        key = (ev.venue, ev.actor_id)
        n = self.counts[key] = self.counts.get(key, 0) + 1
        return self._snap(ev.venue, ev.actor_id, seq, ev.ts) if n % 3 == 1 else None

    def profile(self, venue, actor_id):
        return None

    def finish(self, seq):
        return []


def events(n: int):
    for i in range(n):
        yield make_event(venue="hyperliquid", market_id=f"M{i % 2}", kind="order.placed",
                         ts=1_732_147_200_000_000_000 + i * 1_000, actor_id=f"0x{i % 4}",
                         order_id=str(i), side="buy", price=0.5 + (i % 10) / 100,
                         size=float((i * 37) % 500))


def scan(tmp_path: Path, n: int = 300) -> tuple[Path, Path]:
    db, audit_db = tmp_path / "flow.db", tmp_path / "audit.db"
    store = SQLiteFlowStore(db)
    audit = AuditLog(SQLiteAuditSink(audit_db))
    engine = FlowEngine(detectors=[BigOrder()], profilers=[CountingProfiler()], store=store,
                        audit=audit, venue="hyperliquid")
    audit.record("run.started", {"mode": "scan"}, 0)
    for ev in events(n):
        engine.ingest(ev)
    engine.close()
    audit.record("run.finished", {"status": "finished"}, 0)
    audit.close()
    store.close()
    return db, audit_db


def test_rebuild_reproduces_findings_and_profiles_exactly(tmp_path: Path, rows) -> None:
    db, audit_db = scan(tmp_path)
    original = rows(db, "findings", "pos")
    assert len(original) > 100
    assert {r[4] for r in original} == {"medium", "critical"}  # anomaly and bot records
    rebuilt = tmp_path / "rebuilt.db"
    report = rebuild_from_audit(audit_db, rebuilt)
    assert rows(rebuilt, "findings", "pos") == original
    assert rows(rebuilt, "actor_profiles", "venue, actor_id") == \
        rows(db, "actor_profiles", "venue, actor_id")
    assert (report.findings, report.findings_new) == (len(original), len(original))
    assert report.by_category["run.started"] == 1 and report.skipped == ()
    assert report.by_category["flow.bot_detected"] > 0 and report.by_category["flow.anomaly"] > 0
    assert verify_store(rebuilt) == []
    assert not (tmp_path / "rebuilt.db.rebuilding").exists()
    with SQLiteFlowStore(rebuilt, read_only=True) as s:
        (run,) = s.runs()
    assert run["mode"] == "rebuild" and run["findings_new"] == len(original)


def test_rebuild_from_an_open_sink(tmp_path: Path, rows) -> None:
    db, audit_db = scan(tmp_path, n=60)
    with SQLiteAuditSink(audit_db, read_only=True) as sink:
        rebuild_from_audit(sink, tmp_path / "r.db")
    assert rows(tmp_path / "r.db", "findings", "pos") == rows(db, "findings", "pos")


def test_rebuild_refuses_a_broken_chain_and_leaves_nothing(tmp_path: Path) -> None:
    _, audit_db = scan(tmp_path, n=60)
    conn = sqlite3.connect(audit_db)
    conn.execute("DROP TRIGGER audit_worm_update")
    conn.execute("UPDATE audit SET payload = replace(payload, 'placed', 'moved') WHERE seq = 9")
    conn.commit()
    conn.close()
    target = tmp_path / "r.db"
    with pytest.raises(StoreError, match="audit chain broken at audit record seq 9"):
        rebuild_from_audit(audit_db, target)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r.db")) == []


def test_rebuild_never_overwrites(tmp_path: Path) -> None:
    db, audit_db = scan(tmp_path, n=10)
    with pytest.raises(StoreError, match="already exists; rebuild only into a new file"):
        rebuild_from_audit(audit_db, db)


def test_unreadable_finding_payloads_are_skipped_and_reported(tmp_path: Path, finding) -> None:
    audit_db = tmp_path / "audit.db"
    log = AuditLog(SQLiteAuditSink(audit_db))
    log.record("flow.anomaly", {"finding": finding(1).to_dict()}, 1)
    log.record("flow.anomaly", {"summary": "an older record without the finding"}, 2)
    log.record("actor.profiled", {"profile": {"venue": "v"}}, 3)
    log.close()
    report = rebuild_from_audit(audit_db, tmp_path / "r.db")
    assert report.findings == 1
    assert len(report.skipped) == 2
    assert report.skipped[0].startswith("audit record seq 2 (flow.anomaly): cannot be read as a "
                                        "finding")
