"""``flow rebuild``: the flow store reconstructed from the audit log alone.

The audit log is the authority; the flow store is a materialised view of it.
``flow.anomaly`` and ``flow.bot_detected`` records carry the whole finding as
``payload["finding"]`` and ``actor.profiled`` records the profile as
``payload["profile"]``; replaying them in sequence order through a fresh
:class:`~horizon_flow_store_sqlite.flow_store.SQLiteFlowStore` gives the same
findings rows in the same order as the store that was written live.

The chain is verified while reading: rebuilding stops at the first broken
record and nothing is left behind. The new store is built beside the target
as ``<name>.rebuilding`` and renamed into place only when complete.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs

from horizon_flow_core.audit.chain import AuditRecord, verify_chain
from horizon_flow_core.components import AuditSink, RunCounts, RunInfo
from horizon_flow_core.errors import StoreError
from horizon_flow_core.findings import AnomalyFinding
from horizon_flow_core.profiles import ActorProfile

from .audit_sink import SQLiteAuditSink
from .flow_store import SQLiteFlowStore
from .options import SQLiteOptions
from .urls import parse_store_url

FINDING_CATEGORIES = frozenset({"flow.anomaly", "flow.bot_detected"})
PROFILE_CATEGORIES = frozenset({"actor.profiled"})


@attrs.frozen
class RebuildReport:
    db: str
    records: int
    findings: int
    findings_new: int
    profiles: int
    skipped: tuple[str, ...]
    by_category: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _plugin_version() -> str:
    try:
        return version("horizon-flow-store-sqlite")
    except PackageNotFoundError:
        return "unknown"


def rebuild_from_audit(audit: AuditSink | str | os.PathLike[str],
                       db_path: str | os.PathLike[str], *,
                       options: SQLiteOptions | None = None) -> RebuildReport:
    """Rebuild a flow store at ``db_path`` (which must not exist) from ``audit``.

    ``audit``: an open audit sink (anything with ``records()``) or the path or
    URL of a SQLite audit log, opened read-only. Raises StoreError if the chain
    is broken (naming the first broken record) or the target exists.
    """
    target = parse_store_url(db_path, options)
    if target.path is None:
        raise StoreError("rebuild needs a store file, not an in-memory store")
    if target.path.exists():
        raise StoreError(f"{target.path}: already exists; rebuild only into a new file")
    work = target.path.with_name(target.path.name + ".rebuilding")
    _remove_db_files(work)

    own_sink = not hasattr(audit, "records")
    sink: Any = SQLiteAuditSink(audit, read_only=True) if own_sink else audit  # type: ignore[arg-type]
    source_url = getattr(sink, "url", str(audit))
    store = SQLiteFlowStore(work, options=target.options)
    counts: Counter[str] = Counter()
    skipped: list[str] = []
    n_findings = n_profiles = 0
    try:
        head = sink.head()
        run_id = f"rebuild-{head[1][:16]}" if head else "rebuild-empty"
        store.begin_run(RunInfo(run_id=run_id, mode="rebuild", config_hash="",
                                feed=str(source_url), feed_sha256=None,
                                plugins={"horizon-flow-store-sqlite": _plugin_version()},
                                started_wall_ns=time.time_ns()))

        def apply(rec: AuditRecord) -> None:
            nonlocal n_findings, n_profiles
            counts[rec.category] += 1
            try:
                if rec.category in FINDING_CATEGORIES:
                    store.write_finding(AnomalyFinding.from_dict(rec.payload["finding"]))
                    n_findings += 1
                elif rec.category in PROFILE_CATEGORIES:
                    store.upsert_profile(ActorProfile.from_dict(rec.payload["profile"]))
                    n_profiles += 1
            except (KeyError, TypeError, ValueError) as exc:
                skipped.append(f"audit record seq {rec.seq} ({rec.category}): cannot be read "
                               f"as a {'finding' if 'flow' in rec.category else 'profile'}: "
                               f"{exc!r}")

        def checked() -> Any:
            # verify_chain pulls the next record only after accepting the previous
            # one, so a record is applied only once the chain up to it verified.
            pending: AuditRecord | None = None
            for rec in sink.records():
                if pending is not None:
                    apply(pending)
                pending = rec
                yield rec
            if pending is not None:
                apply(pending)

        n, problem = verify_chain(checked())
        if problem is not None:
            raise StoreError(f"{source_url}: audit chain broken at {problem}; not rebuilding "
                             "from a log that does not verify")
        store.finish_run(run_id, RunCounts(events=n, findings=n_findings, profiles=n_profiles,
                                           finished_wall_ns=time.time_ns()))
        findings_new = store.stats.findings_new
        store.close()
    except BaseException:
        try:
            store.close()
        except StoreError:
            pass
        _remove_db_files(work)
        raise
    finally:
        if own_sink:
            sink.close()
    os.replace(work, target.path)
    return RebuildReport(db=str(target.path), records=n, findings=n_findings,
                         findings_new=findings_new, profiles=n_profiles,
                         skipped=tuple(skipped), by_category=dict(sorted(counts.items())))


def _remove_db_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
