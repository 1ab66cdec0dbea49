"""``flow explain``: why did (or didn't) a detector fire on this feed?

It does what operations.txt recipe 4 does by hand: counts the event kinds in
the feed (overall and for the market or actor asked about), says whether the
detector received any of the kinds it declares, runs the feed through an
engine holding that detector alone, and lists its findings and its closest
near-misses, each with the threshold that stopped it and by how much, next to
the thresholds in effect.
"""

from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any

import attrs
import typer

from ..engine.per_market import make_detector
from ..errors import FlowError
from ..events import KINDS, MarketEvent
from ..exports import format_ts
from ..feeds.rejects import RejectLog
from .common import load
from .output import console, print_json, print_table, warn

#: Near-misses kept while explaining, so that filtering by market or actor
#: still finds the closest ones (the detectors keep fewer by default).
EXPLAIN_NEAR_MISS_CAPACITY = 500


def _short(actor: str | None) -> str:
    if not actor:
        return "-"
    return actor if len(actor) <= 14 else f"{actor[:8]}..{actor[-4:]}"


def _matches(ev: MarketEvent, market: str | None, actor: str | None) -> bool:
    if market is not None and ev.market_id != market:
        return False
    if actor is not None and actor not in (ev.actor_id, ev.counterparty_id):
        return False
    return True


def _detector_config(spec: Any, cfg: Any) -> Any:
    det_cfg = cfg.detector_config(spec.name)
    if det_cfg is None and spec.config_class is not None:
        det_cfg = spec.config_class()
    return _with_capacity(det_cfg)


def _with_capacity(det_cfg: Any) -> Any:
    """``det_cfg`` keeping at least EXPLAIN_NEAR_MISS_CAPACITY near-misses."""
    if det_cfg is not None and attrs.has(type(det_cfg)):
        names = {a.name for a in attrs.fields(type(det_cfg))}
        current = getattr(det_cfg, "near_miss_capacity", None)
        if "near_miss_capacity" in names and isinstance(current, int) and \
                current < EXPLAIN_NEAR_MISS_CAPACITY:
            det_cfg = attrs.evolve(det_cfg, near_miss_capacity=EXPLAIN_NEAR_MISS_CAPACITY)
    return det_cfg


def _thresholds(det_cfg: Any) -> dict[str, Any]:
    if det_cfg is None or not attrs.has(type(det_cfg)):
        return {}
    return {k: v for k, v in attrs.asdict(det_cfg).items() if k != "near_miss_capacity"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def explain_feed(feed_log: Path, detector: str, *, market: str | None = None,
                 actor: str | None = None, config: Path | None = None,
                 venue: str | None = None, limit: int = 10) -> dict[str, Any]:
    """The explanation as a dict (what ``--json`` prints)."""
    from ..engine.engine import FlowEngine
    from ..runner import iter_feed

    cfg, pm = load(config)
    specs = {s.name: s for s in pm.detector_specs()}
    spec = specs.get(detector)
    if spec is None:
        raise FlowError(f"--detector: no detector named {detector!r} is installed "
                        f"(installed: {', '.join(sorted(specs)) or 'none'})")
    if not feed_log.exists():
        raise FlowError(f"{feed_log}: feed log not found")
    det_cfg = _detector_config(spec, cfg)
    component = make_detector(spec.factory, det_cfg,
                              {m: _with_capacity(c) for m, c in
                               cfg.detector_market_configs(spec.name).items()})
    engine = FlowEngine(cfg, venue=venue, plugin_manager=pm)
    engine.add_detector(component, plugin=spec.plugin)
    wanted_raw = getattr(component, "kinds", None)
    wanted = sorted(KINDS if not wanted_raw else set(wanted_raw) & KINDS)
    found: list[Any] = []
    engine.on_finding(found.append)

    kinds: collections.Counter[str] = collections.Counter()
    kinds_filtered: collections.Counter[str] = collections.Counter()
    markets: set[str] = set()
    actors_seen = 0
    rejects = RejectLog(None)
    filtering = market is not None or actor is not None
    try:
        for ev in iter_feed(feed_log, venue, cfg, pm, rejects):
            kinds[ev.kind] += 1
            markets.add(ev.market_id)
            if ev.actor_id is not None:
                actors_seen += 1
            if filtering and _matches(ev, market, actor):
                kinds_filtered[ev.kind] += 1
            engine.ingest(ev)
    finally:
        engine.close()

    received = sum(kinds[k] for k in wanted)
    received_filtered = sum(kinds_filtered[k] for k in wanted) if filtering else received
    near_all: list[dict[str, Any]] = []
    near_fn = getattr(component, "near_misses", None)
    if callable(near_fn):
        near_all = list(near_fn() or [])
    near = [n for n in near_all
            if (market is None or n.get("market_id") == market)
            and (actor is None or n.get("actor_id") == actor)]
    near.sort(key=lambda n: (-float(n.get("closeness", 0.0)), n.get("ts", 0)))
    mine = [f for f in found if (market is None or f.market_id == market)
            and (actor is None or f.actor_id == actor)]
    status = engine.supervisor.status()
    errors = [c for c in status if c["errors"]]

    hints: list[str] = []
    if not sum(kinds.values()):
        hints.append("the feed holds no readable events")
    elif not received:
        hints.append(f"the feed has none of the event kinds {detector} reads "
                     f"({', '.join(wanted)}): it received nothing")
    elif filtering and not sum(kinds_filtered.values()):
        what = " and ".join(x for x in (market and f"market {market}",
                                         actor and f"actor {actor}") if x)
        hints.append(f"no event of the feed is for {what}; markets in the feed: "
                     f"{', '.join(sorted(markets)[:10])}")
    elif filtering and not received_filtered:
        hints.append(f"events for the filter exist, but none of the kinds {detector} reads")
    if received and not actors_seen and detector in ("momentum_ignition", "split_order"):
        hints.append("no event names an actor: this detector needs actor identity")
    if errors:
        first = errors[0]
        hints.append(f"the detector raised {first['errors']} time(s): {first['last_error']}")
    if mine:
        hints.append(f"it did fire: {len(mine)} finding(s) for this filter")
    elif received_filtered and not near:
        hints.append("no candidate came near a threshold: the pattern is absent, or the "
                     f"thresholds are far off (loosen [detectors.{detector}] in a config to "
                     "see what would fire)")
    elif near:
        top = near[0]
        hints.append(f"closest miss stopped by {top['threshold']}: {top['value']} against "
                     f"{top['required']} (closeness {top['closeness']})")
    result: dict[str, Any] = _json_safe({
        "feed": str(feed_log), "detector": detector, "plugin": spec.plugin,
        "filter": {"market": market, "actor": actor},
        "events": sum(kinds.values()), "rejects": rejects.count,
        "reject_examples": list(rejects.examples),
        "kinds": {k: kinds[k] for k in sorted(kinds)},
        "kinds_for_filter": {k: kinds_filtered[k] for k in sorted(kinds_filtered)}
        if filtering else None,
        "wanted_kinds": wanted, "received": received, "received_for_filter": received_filtered,
        "thresholds": _thresholds(det_cfg),
        # [detectors.<name>.markets.<market>]: what applied there instead
        "market_thresholds": {m: _thresholds(c) for m, c in
                              cfg.detector_market_configs(detector).items()},
        "findings": len(found), "findings_for_filter": len(mine),
        "finding_examples": [{"ts": f.ts, "market_id": f.market_id, "actor_id": f.actor_id,
                              "severity": f.severity, "confidence": f.confidence,
                              "message": f.message} for f in mine[:limit]],
        "near_misses": near[:limit], "near_misses_total": len(near),
        "errors": errors, "hints": hints,
    })
    return result


def print_explanation(x: dict[str, Any]) -> None:
    flt = x["filter"]
    scope = ", ".join(f"{k} {v}" for k, v in flt.items() if v) or "whole feed"
    console.print(f"[bold]{x['detector']}[/bold] ({x['plugin']}) on {x['feed']} ({scope}): "
                  f"{x['events']:,} events, {x['rejects']:,} rejected lines")
    wanted = set(x["wanted_kinds"])
    rows = []
    for k in sorted(KINDS):
        n = x["kinds"].get(k, 0)
        n_f = None if x["kinds_for_filter"] is None else x["kinds_for_filter"].get(k, 0)
        rows.append([k, f"{n:,}", "-" if n_f is None else f"{n_f:,}",
                     "yes" if k in wanted else "no"])
    print_table("event kinds", ["kind", "in feed", "for filter", f"read by {x['detector']}"],
                rows)
    console.print(f"received: {x['received']:,} events of the kinds it reads"
                  + ("" if x["kinds_for_filter"] is None
                     else f" ({x['received_for_filter']:,} for the filter)"), markup=False)
    if x["thresholds"]:
        console.print("thresholds in effect: " + ", ".join(
            f"{k}={v}" for k, v in x["thresholds"].items()), markup=False)
    for market, values in x["market_thresholds"].items():
        changed = {k: v for k, v in values.items() if x["thresholds"].get(k) != v}
        console.print(f"  in market {market}: " + ", ".join(
            f"{k}={v}" for k, v in changed.items()), markup=False)
    console.print(f"findings: {x['findings']} ({x['findings_for_filter']} for the filter)",
                  markup=False)
    for f in x["finding_examples"]:
        console.print(f"  {format_ts(f['ts'])} {f['severity']} {f['confidence']:.2f} "
                      f"{f['message']}", markup=False)
    if x["near_misses"]:
        nrows = [[format_ts(n["ts"]) if isinstance(n.get("ts"), int) else "-",
                  n.get("market_id") or "-", _short(n.get("actor_id")), n.get("threshold"),
                  n.get("value"), n.get("required"), n.get("closeness"),
                  ", ".join(n.get("failed") or [])] for n in x["near_misses"]]
        print_table(f"closest near-misses ({x['near_misses_total']} kept)",
                    ["time (UTC)", "market", "actor", "stopped by", "value", "required",
                     "closeness", "all thresholds missed"], nrows)
    else:
        console.print("near-misses: none", markup=False)
    for ex in x["reject_examples"]:
        warn(f"rejected: {ex}")
    for h in x["hints"]:
        console.print(f"-> {h}", markup=False)


def explain(
    feed_log: Path = typer.Option(..., "--feed-log", "-f", help="Feed log (.jsonl or .jsonl.gz)."),
    detector: str = typer.Option(..., "--detector", "-d",
                                 help="Detector name (see flow plugins list)."),
    market: str | None = typer.Option(None, "--market", help="Only this market's evidence."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor's evidence."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file."),
    venue: str | None = typer.Option(None, "--venue",
                                     help="Read a raw recording of this venue's frames."),
    limit: int = typer.Option(10, "--limit", min=1, help="Near-misses and findings to show."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Why did (or didn't) a detector fire? Event kinds, what it received, near-misses."""
    x = explain_feed(feed_log, detector, market=market, actor=actor, config=config,
                     venue=venue, limit=limit)
    if json_out:
        print_json(x)
    else:
        print_explanation(x)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
