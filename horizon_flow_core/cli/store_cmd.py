"""Verbs over the stores: replay, anomalies, diff, verify, audit verify, profile, backup, rebuild.

They speak only the store protocols (:mod:`horizon_flow_core.components`),
so they work on any store plugin; capabilities a backend may lack
(``backup``) are asked for and refused with a clear message.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import typer

from ..audit.chain import verify_chain
from ..components import FindingQuery, RunCounts, RunInfo
from ..errors import AuditChainError, FlowError, StoreError
from ..exports import export_lines, findings_digest, format_ts, parse_time
from ..findings import AnomalyFinding, parse_severity
from ..plugin_manager import get_plugin_manager
from ..profiles import ActorProfile
from ..runner import plugin_versions, run_scan
from ..stores.resolve import open_audit_sink, open_flow_store, store_scheme
from .common import load
from .output import console, info, print_json, print_table, progress_bar, warn
from .scan_cmd import print_summary

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _store_file(url: str) -> Path | None:
    url = url.split("?", 1)[0]
    scheme = store_scheme(url)
    if scheme is None:
        return Path(url)
    if scheme == "sqlite":
        rest = url.split("://", 1)[1]
        return Path(rest[1:] if rest.startswith("/") and not rest.startswith("//") else rest)
    return None


def _require_existing(url: str, what: str) -> None:
    path = _store_file(url)
    if path is not None and not path.exists():
        raise StoreError(f"{url}: no such {what}")


# --------------------------------------------------------------------------- replay


def replay(
    feed_log: Path = typer.Option(..., "--feed-log", "-f", help="Feed log to replay."),
    config: Path | None = typer.Option(None, "--config", "-c", help="The config in force."),
    store: str = typer.Option(..., "--store", help="A fresh flow store (path or URL)."),
    audit_db: str | None = typer.Option(None, "--audit-db",
                                        help="Audit log (default: beside the store)."),
    venue: str | None = typer.Option(None, "--venue", help="Replay a raw venue recording."),
    export: Path | None = typer.Option(None, "--export", help="Write the findings export here."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary."),
) -> None:
    """Replay a feed log into a fresh store and print the findings digest.

    Two replays of the same feed and config give byte-identical findings
    exports and audit chains: compare the digests.
    """
    cfg, pm = load(config)
    if audit_db is None:
        path = _store_file(store)
        audit_db = str(path.with_suffix(".audit" + (path.suffix or ".db"))) if path else "memory://"
    for url in (store, audit_db):
        path = _store_file(url)
        if path is not None and path.exists():
            if not overwrite:
                raise StoreError(f"{url}: already exists; replay needs a fresh store "
                                 "(use --overwrite to replace it)")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
    update, stop = progress_bar(f"replaying {feed_log.name}",
                                sys.stderr.isatty() and not json_out)
    try:
        summary = run_scan(feed_log, config=cfg, pm=pm, db=store, audit_db=audit_db, venue=venue,
                           mode="replay", progress=update)
    finally:
        stop()
    fstore = open_flow_store(store, pm)
    try:
        digest, n = findings_digest(fstore.findings(FindingQuery()))
        if export is not None:
            with export.open("wb") as fh:
                for line in export_lines(fstore.findings(FindingQuery())):
                    fh.write(line)
    finally:
        fstore.close()
    if json_out:
        print_json(summary.to_dict() | {"digest": digest, "stored_findings": n})
        return
    print_summary(summary)
    console.print(f"findings digest: {digest} ({n} findings)", markup=False)
    console.print(f"audit chain head: {summary.audit_head}", markup=False)


# --------------------------------------------------------------------------- anomalies


def _query(since_hours: float | None, since: str | None, until: str | None,
           category: list[str] | None, severity_min: str | None, venue: str | None,
           market: str | None, actor: str | None, detector: str | None) -> FindingQuery:
    since_ts = None
    if since_hours is not None:
        since_ts = time.time_ns() - int(since_hours * 3600 * 1e9)
    if since is not None:
        since_ts = parse_time(since, option="--since")
    until_ts = parse_time(until, option="--until") if until is not None else None
    sev = None
    if severity_min is not None:
        try:
            sev = parse_severity(severity_min).value
        except ValueError as exc:
            raise FlowError(f"--severity-min: {exc}") from None
    return FindingQuery(since_ts=since_ts, until_ts=until_ts, categories=tuple(category or ()),
                        severity_min=sev, venue=venue, market_id=market, actor_id=actor,
                        detector=detector)


def anomalies(
    db: str = typer.Option(..., "--db", help="Flow store (path or URL)."),
    since_hours: float | None = typer.Option(None, "--since-hours",
                                             help="Findings of the last H hours."),
    since: str | None = typer.Option(None, "--since", help="ISO 8601 start (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="ISO 8601 end (inclusive)."),
    category: list[str] | None = typer.Option(None, "--category", help="Category (repeatable)."),
    severity_min: str | None = typer.Option(None, "--severity-min",
                                            help="low|medium|high|critical."),
    venue: str | None = typer.Option(None, "--venue"),
    market: str | None = typer.Option(None, "--market"),
    actor: str | None = typer.Option(None, "--actor"),
    detector: str | None = typer.Option(None, "--detector"),
    limit: int = typer.Option(1000, "--limit", help="Most recent N matching findings; 0 = all."),
    fmt: str = typer.Option("json", "--format", help="json (an array), jsonl or table."),
) -> None:
    """List findings, oldest first (the most recent --limit of those matching)."""
    if fmt not in ("json", "jsonl", "table"):
        raise FlowError(f"--format: {fmt!r} is not one of json, jsonl, table")
    if limit < 0:
        raise FlowError("--limit: must be >= 0 (0 = all)")
    _require_existing(db, "flow store")
    query = _query(since_hours, since, until, category, severity_min, venue, market, actor,
                   detector)
    store = open_flow_store(db, get_plugin_manager(), read_only=True)
    try:
        rows: Any = deque(store.findings(query), maxlen=limit or None)
    finally:
        store.close()
    if fmt == "json":
        print_json([f.to_dict() for f in rows])
    elif fmt == "jsonl":
        out = sys.stdout.buffer
        for line in export_lines(rows):
            out.write(line)
        out.flush()
    else:
        print_table(f"{len(rows)} findings", ["time (UTC)", "severity", "category", "venue",
                                              "market", "actor", "confidence", "message"],
                    [[format_ts(f.ts), f.severity, f.category, f.venue, f.market_id,
                      f.actor_id or "-", f"{f.confidence:.2f}", f.message] for f in rows])


# --------------------------------------------------------------------------- diff


def diff(
    a: str = typer.Argument(..., help="Flow store A (e.g. before a threshold change)."),
    b: str = typer.Argument(..., help="Flow store B (after)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Findings present in one store and not the other. Exits 1 when they differ."""
    pm = get_plugin_manager()
    found: dict[str, dict[str, AnomalyFinding]] = {}
    for label, url in (("a", a), ("b", b)):
        _require_existing(url, "flow store")
        store = open_flow_store(url, pm, read_only=True)
        try:
            found[label] = {f.id: f for f in store.findings(FindingQuery())}
        finally:
            store.close()
    only_a = [found["a"][i] for i in sorted(found["a"].keys() - found["b"].keys())]
    only_b = [found["b"][i] for i in sorted(found["b"].keys() - found["a"].keys())]
    shared = sorted(found["a"].keys() & found["b"].keys())
    # the same finding (same id: same detector, time, actor, evidence) judged differently
    changed = [(found["a"][i], found["b"][i]) for i in shared
               if found["a"][i].to_dict() != found["b"][i].to_dict() | {"seq": found["a"][i].seq}]
    common = len(shared)
    order = sorted(only_a, key=lambda f: (f.ts, f.id)), sorted(only_b, key=lambda f: (f.ts, f.id))
    if json_out:
        print_json({"a": a, "b": b, "common": common,
                    "only_in_a": [f.to_dict() for f in order[0]],
                    "only_in_b": [f.to_dict() for f in order[1]],
                    "changed": [{"a": x.to_dict(), "b": y.to_dict()} for x, y in changed]})
    else:
        console.print(f"{common} findings in both; {len(only_a)} only in A ({a}); "
                      f"{len(only_b)} only in B ({b}); {len(changed)} judged differently",
                      markup=False)
        rows = [["A", format_ts(f.ts), f.category, f.severity, f.market_id, f.actor_id or "-",
                 f.message] for f in order[0]]
        rows += [["B", format_ts(f.ts), f.category, f.severity, f.market_id, f.actor_id or "-",
                  f.message] for f in order[1]]
        rows += [["changed", format_ts(x.ts), x.category, f"{x.severity} -> {y.severity}",
                  x.market_id, x.actor_id or "-", f"confidence {x.confidence:.2f} -> "
                  f"{y.confidence:.2f}"] for x, y in changed]
        if rows:
            print_table("differences", ["only in", "time (UTC)", "category", "severity",
                                        "market", "actor", "message"], rows)
    if only_a or only_b or changed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- verify


def cross_check_with_audit(store: Any, sink: Any) -> list[str]:
    """Every stored finding against the audit log, field by field.

    The store's own checks cannot see a finding edited behind its WORM
    triggers in a field its content id does not cover (severity,
    confidence, message, citation); the audit log, the authority, can.
    """
    audited: dict[str, tuple[int, dict[str, Any]]] = {}
    for rec in sink.records():
        if rec.category in ("flow.anomaly", "flow.bot_detected"):
            f = rec.payload.get("finding") or {}
            audited.setdefault(str(f.get("id")), (rec.seq, f))
    problems: list[str] = []
    seen: set[str] = set()
    for f in store.findings(FindingQuery()):
        seen.add(f.id)
        entry = audited.get(f.id)
        if entry is None:
            problems.append(f"finding {f.id}: in the store but not in the audit log")
            continue
        seq, original = entry
        stored = f.to_dict()
        for key in sorted(original):
            if key != "seq" and stored.get(key) != original[key]:
                problems.append(f"finding {f.id}: {key} is {stored.get(key)!r} in the store but "
                                f"{original[key]!r} in the audit log (record seq {seq})")
    missing = sorted(set(audited) - seen)
    for fid in missing[:20]:
        problems.append(f"finding {fid}: in the audit log (record seq {audited[fid][0]}) but not "
                        "in the store (rebuild with `flow rebuild`)")
    if len(missing) > 20:
        problems.append(f"... and {len(missing) - 20} more audited findings missing from the store")
    return problems


def verify(db: str = typer.Option(..., "--db", help="Flow store (path or URL)."),
           audit_db: str | None = typer.Option(
               None, "--audit-db",
               help="Also check every stored finding against this audit log, field by field."),
           json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
           ) -> None:
    """Integrity check of a flow store: structure, WORM protection, counts. Non-zero on problems.

    With --audit-db, every finding is also compared with the audit log (the authority).
    """
    _require_existing(db, "flow store")
    pm = get_plugin_manager()
    store = open_flow_store(db, pm, read_only=True)
    try:
        problems = list(store.verify())
        if audit_db is not None:
            _require_existing(audit_db, "audit log")
            sink = open_audit_sink(audit_db, pm, read_only=True)
            try:
                problems += cross_check_with_audit(store, sink)
            finally:
                sink.close()
    finally:
        store.close()
    if json_out:
        print_json({"store": db, "audit": audit_db, "ok": not problems, "problems": problems})
    elif problems:
        for p in problems:
            console.print(f"FAIL {p}", markup=False)
    else:
        against = f" and matches the audit log {audit_db}" if audit_db else ""
        console.print(f"ok: {db} passes integrity, WORM and count checks{against}",
                      markup=False)
    if problems:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(db: str = typer.Option(..., "--db", help="Audit log (path or URL)."),
                 json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
                 ) -> None:
    """Recompute the hash chain; name the first broken record. Non-zero when broken."""
    _require_existing(db, "audit log")
    sink = open_audit_sink(db, get_plugin_manager(), read_only=True)
    try:
        n, problem = verify_chain(sink.records())
        # the backend's own checks (WORM triggers present and refusing writes...)
        verify_file = getattr(sink, "verify_file", None)
        storage_problems: list[str] = list(verify_file()) if verify_file is not None else []
    finally:
        sink.close()
    if problem is not None:  # a backend that rechecks the chain names the same break
        storage_problems = [p for p in storage_problems if str(problem) not in p]
    ok = problem is None and not storage_problems
    if json_out:
        print_json({"audit": db, "records": n, "ok": ok,
                    "problem": None if problem is None else {"seq": problem.seq,
                                                             "position": problem.position,
                                                             "reason": problem.reason},
                    "storage_problems": storage_problems})
    else:
        if problem is None:
            console.print(f"{'ok' if ok else 'chain intact'}: {n} audit records, chain intact",
                          markup=False)
        else:
            console.print(f"BROKEN: {problem}", markup=False)
        for p in storage_problems:
            console.print(f"FAIL {p}", markup=False)
    if not ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- profile


def profile(actor: str = typer.Option(..., "--actor", help="Wallet or account id."),
            db: str = typer.Option(..., "--db", help="Flow store (path or URL)."),
            venue: str | None = typer.Option(None, "--venue"),
            json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
            ) -> None:
    """An actor's profile, taxonomy probabilities and findings."""
    _require_existing(db, "flow store")
    store = open_flow_store(db, get_plugin_manager(), read_only=True)
    try:
        profiles: list[ActorProfile] = store.profiles(actor, venue)
        findings = list(store.findings(FindingQuery(actor_id=actor, venue=venue)))
    finally:
        store.close()
    if not profiles and not findings:
        raise FlowError(f"actor {actor!r}: no profile and no findings in {db}")
    if json_out:
        print_json({"actor_id": actor, "profiles": [p.to_dict() for p in profiles],
                    "findings": [f.to_dict() for f in findings]})
        return
    for p in profiles:
        console.print(f"[bold]{p.actor_id}[/bold] on {p.venue}: {p.event_count} events, "
                      f"class {p.top_class} (updated at event {p.last_updated_seq}, "
                      f"{format_ts(p.ts)})")
        print_table("taxonomy", ["class", "probability"],
                    [[c, f"{v:.3f}"] for c, v in sorted(p.taxonomy.items(),
                                                         key=lambda kv: -kv[1])])
        feats = [[k, v] for k, v in sorted(p.features.items()) if not isinstance(v, dict | list)]
        if feats:
            print_table("features", ["feature", "value"], feats)
    print_table(f"{len(findings)} findings", ["time (UTC)", "severity", "category", "market",
                                              "confidence", "message"],
                [[format_ts(f.ts), f.severity, f.category, f.market_id, f"{f.confidence:.2f}",
                  f.message] for f in findings])


# --------------------------------------------------------------------------- backup, rebuild


def backup(db: str = typer.Option(..., "--db", help="Flow store to back up."),
           to: Path = typer.Option(..., "--to", help="Destination directory."),
           audit_db: str | None = typer.Option(None, "--audit-db",
                                               help="Also back up this audit log.")
           ) -> None:
    """A consistent copy through the backend's backup API, then verified."""
    pm = get_plugin_manager()
    if audit_db == db:  # both in one file: one copy holds both
        audit_db = None
    for url, opener in ((db, open_flow_store), (audit_db, open_audit_sink)):
        if url is None:
            continue
        _require_existing(url, "store")
        # read-only: a backup never migrates or writes its source, and works from
        # read-only media (a restored snapshot, a WORM volume)
        store: Any = opener(url, pm, read_only=True)
        try:
            fn = getattr(store, "backup", None)
            if fn is None:
                raise StoreError(f"{url}: this store backend has no backup support")
            dest = fn(to)
        finally:
            store.close()
        console.print(f"backed up {url} -> {dest} (verified)", markup=False)


def rebuild(audit_db: str = typer.Option(..., "--audit-db", help="The audit log (authority)."),
            db: str = typer.Option(..., "--db", help="A fresh flow store to rebuild into."),
            force: bool = typer.Option(False, "--force",
                                       help="Rebuild even from a chain that does not verify.")
            ) -> None:
    """Rebuild the flow store (findings, profiles) from the audit log alone."""
    pm = get_plugin_manager()
    _require_existing(audit_db, "audit log")
    path = _store_file(db)
    if path is not None and path.exists():
        raise StoreError(f"{db}: already exists; rebuild needs a fresh store")
    sink = open_audit_sink(audit_db, pm, read_only=True)  # the authority is only read
    try:
        n, problem = verify_chain(sink.records())
        if problem is not None and not force:
            raise AuditChainError(f"{audit_db}: {problem}; refusing to rebuild (--force to "
                                  "rebuild from the records anyway)")
        if problem is not None:
            warn(f"rebuilding from a broken chain: {problem}")
        store = open_flow_store(db, pm)
        findings = profiles = 0
        # the rebuilt store says where it came from (its runs table), as a scan's does
        run_id = uuid.uuid4().hex
        store.begin_run(RunInfo(run_id=run_id, mode="rebuild", config_hash="", feed=audit_db,
                                feed_sha256=None, plugins=plugin_versions(pm),
                                started_wall_ns=time.time_ns()))
        try:
            for rec in sink.records():
                if rec.category in ("flow.anomaly", "flow.bot_detected"):
                    store.write_finding(AnomalyFinding.from_dict(rec.payload["finding"]))
                    findings += 1
                elif rec.category == "actor.profiled":
                    store.upsert_profile(ActorProfile.from_dict(rec.payload["profile"]))
                    profiles += 1
            store.flush()
            store.finish_run(run_id, RunCounts(events=n, findings=findings, profiles=profiles,
                                               finished_wall_ns=time.time_ns()))
        finally:
            store.close()
    finally:
        sink.close()
    info(f"rebuilt {db} from {n} audit records: {findings} findings, {profiles} profile "
         "snapshots")


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
    app.command("anomalies")(anomalies)
    app.command("diff")(diff)
    app.command("verify")(verify)
    app.add_typer(audit_app, name="audit")
    app.command("profile")(profile)
    app.command("backup")(backup)
    app.command("rebuild")(rebuild)
