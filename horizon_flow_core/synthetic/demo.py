"""``flow demo`` as a library call: generate, scan into SQLite and an audit log, score.

Everything lands in one output directory:

* ``feed.jsonl.gz``: the synthetic feed (the pinned normalized format);
* ``episodes.json``: the planted ground truth and every actor's scripted role;
* ``flow.db`` and ``audit.db``: the flow store and the hash-chained audit log
  of the scan (through the installed store plugin);
* ``summary.json``: recall and precision per category, the episodes each
  finding caught, the false findings and the top actors' taxonomy.

The summary holds nothing that depends on the wall clock, so the same seed
and plugins give the same file.
"""

from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any, Final

from ..components import FindingQuery
from ..config import FlowConfig
from ..findings import AnomalyFinding
from ..jsonio import pretty
from ..plugin_manager import PluginManager
from ..profiles import ActorProfile
from ..runner import ScanSummary, file_sha256, run_scan
from ..stores.resolve import open_flow_store
from .feed import write_feed
from .generator import generate
from .model import Scenario
from .scoring import Score, score_findings

FEED: Final = "feed.jsonl.gz"
EPISODES: Final = "episodes.json"
FLOW_DB: Final = "flow.db"
AUDIT_DB: Final = "audit.db"
SUMMARY: Final = "summary.json"
REJECTS: Final = "feed.rejects.jsonl"

#: Default size of the demo feed: about twenty minutes of four busy markets,
#: long enough for the taxonomy to tell market makers from directional traders.
DEMO_EVENTS: Final = 80_000

#: Files (and SQLite side files) a previous demo left that a new one replaces.
_OWNED: Final = (FEED, EPISODES, SUMMARY, REJECTS, FLOW_DB, FLOW_DB + "-wal", FLOW_DB + "-shm",
                 FLOW_DB + "-journal", AUDIT_DB, AUDIT_DB + "-wal", AUDIT_DB + "-shm",
                 AUDIT_DB + "-journal")


def _clear(out: Path) -> None:
    for name in _OWNED:
        (out / name).unlink(missing_ok=True)


def _actor_stats(sc: Scenario) -> dict[str, dict[str, float]]:
    stats: dict[str, dict[str, float]] = collections.defaultdict(
        lambda: {"events": 0.0, "fills": 0.0, "volume": 0.0, "notional": 0.0})
    for ev in sc.events:
        if ev.actor_id is None:
            continue
        s = stats[ev.actor_id]
        s["events"] += 1
        if ev.kind == "order.filled":
            size = ev.size or 0.0
            s["fills"] += 1
            s["volume"] += size
            s["notional"] += size * (ev.price or 0.0)
    return stats


def _short(actor: str | None) -> str:
    if actor is None:
        return "-"
    return actor if len(actor) <= 12 else f"{actor[:6]}..{actor[-4:]}"


def _top_actors(sc: Scenario, profiles: dict[str, ActorProfile], n: int) -> list[dict[str, Any]]:
    stats = _actor_stats(sc)
    ranked = sorted(stats.items(), key=lambda kv: (-kv[1]["notional"], kv[0]))[:n]
    out = []
    for actor, s in ranked:
        prof = profiles.get(actor)
        entry: dict[str, Any] = {
            "actor_id": actor, "role": sc.roles.get(actor, "?"), "events": int(s["events"]),
            "fills": int(s["fills"]), "notional": round(s["notional"], 2),
        }
        if prof is not None:
            uniform = len(set(prof.taxonomy.values())) == 1
            entry.update(taxonomy=dict(prof.taxonomy), profile_events=prof.event_count,
                         top_class="(prior)" if uniform else prof.top_class,
                         probability=round(max(prof.taxonomy.values()), 4))
        out.append(entry)
    return out


def _episode_rows(score: Score, findings: dict[str, AnomalyFinding]) -> list[dict[str, Any]]:
    rows = []
    for m in score.matches:
        e = m.episode
        first = findings.get(m.finding_ids[0]) if m.finding_ids else None
        rows.append({
            "episode_id": e.episode_id, "category": e.category, "market_id": e.market_id,
            "actors": list(e.actor_ids), "start_ts": e.start_ts, "end_ts": e.end_ts,
            "description": e.description, "caught": m.caught,
            "findings": list(m.finding_ids),
            "first_finding": None if first is None else {
                "id": first.id, "detector": first.detector, "severity": first.severity,
                "confidence": first.confidence, "message": first.message},
        })
    return rows


def _categories(score: Score) -> list[dict[str, Any]]:
    out = []
    for c, s in score.categories.items():
        out.append({"category": c, "planted": s.planted, "caught": s.caught,
                    "recall": None if s.recall is None else round(s.recall, 4),
                    "findings": s.findings, "true_findings": s.true_findings,
                    "false_ordinary": s.false_ordinary, "false_cross": s.false_cross,
                    "precision": None if s.precision is None else round(s.precision, 4)})
    return out


def run_demo(out_dir: str | Path, *, seed: int = 42, events: int = DEMO_EVENTS,
             config: FlowConfig | None = None, pm: PluginManager | None = None,
             top: int = 10) -> tuple[dict[str, Any], ScanSummary]:
    """Generate the demo feed into ``out_dir``, scan it, and return ``(summary, scan)``.

    ``summary`` is what ``summary.json`` holds; ``scan`` the scan's own
    summary (timings included).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    sc = generate(seed=seed, events=events)
    feed = out / FEED
    write_feed(feed, sc.events)
    truth = {"seed": seed, "episodes": [e.to_dict() for e in sc.episodes],
             "roles": sc.roles, "markets": [m.market_id for m in sc.markets]}
    (out / EPISODES).write_bytes(pretty(truth) + b"\n")

    db, audit = str(out / FLOW_DB), str(out / AUDIT_DB)
    scan = run_scan(feed, config=config, pm=pm, db=db, audit_db=audit, mode="demo",
                    rejects_path=out / REJECTS)
    store = open_flow_store(db, pm, read_only=True)
    try:
        found = list(store.findings(FindingQuery()))
        profiles: dict[str, ActorProfile] = {}
        for actor in sorted(sc.roles):
            for prof in store.profiles(actor):
                profiles[actor] = prof
    finally:
        store.close()
    score = score_findings(sc.episodes, found)
    by_id = {f.id: f for f in found}
    false_by_detector = collections.Counter(f.detector for f in score.false_findings)
    minutes = (sc.end_ts - sc.start_ts) / 60e9
    summary: dict[str, Any] = {
        "feed": {"path": str(feed), "sha256": file_sha256(feed), "events": len(sc.events),
                 "markets": [m.market_id for m in sc.markets], "seed": seed,
                 "start_ts": sc.start_ts, "end_ts": sc.end_ts,
                 "minutes": round(minutes, 1) if math.isfinite(minutes) else 0.0,
                 "actors": len(sc.roles)},
        "detectors": [c["name"] for c in scan.components if c["kind"] == "detector"],
        "findings": len(found),
        "profiles": scan.profiles,
        "categories": _categories(score),
        "episodes": _episode_rows(score, by_id),
        "false_findings": [{"id": f.id, "detector": f.detector, "category": f.category,
                            "market_id": f.market_id, "actor_id": f.actor_id,
                            "role": sc.roles.get(f.actor_id or "", "anonymous"),
                            "ts": f.ts, "message": f.message}
                           for f in score.false_findings],
        "false_by_detector": dict(sorted(false_by_detector.items())),
        "top_actors": _top_actors(sc, profiles, top),
        "audit_head": scan.audit_head,
        "findings_digest": scan.findings_digest,
        "files": {"feed": str(feed), "episodes": str(out / EPISODES), "flow_store": db,
                  "audit_log": audit, "summary": str(out / SUMMARY)},
    }
    (out / SUMMARY).write_bytes(pretty(summary) + b"\n")
    return summary, scan
