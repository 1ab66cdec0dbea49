"""Tables, WORM triggers and forward migrations.

A file may hold the flow store, the audit log or both; each is a *component*
with its own version in ``schema_version``. A migration is a function that
takes the sqlite-utils ``Database`` and changes the schema by one version; the
pending ones are applied in order inside one ``BEGIN IMMEDIATE`` transaction,
so an upgrade either happens completely or not at all. Never edit a released
migration: append a new one.

WORM: the triggers make every UPDATE or DELETE on ``findings``, ``policies``
and ``audit`` fail. ``INSERT OR REPLACE`` would bypass delete triggers (SQLite
does not fire them for REPLACE's implicit delete unless ``recursive_triggers``
is on in the writer's connection), so BEFORE INSERT triggers refuse a row that
would replace an existing one: a duplicate finding id is silently ignored (a
restarted run re-emits the same findings), any other collision aborts.
These triggers stop accidents and casual edits; someone who can drop them can
edit the file, which is what the audit chain, the content-derived finding ids
and ``verify`` are for.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import sqlite_utils

from horizon_flow_core.errors import StoreError

from .errors import store_error

FLOW = "flow"
AUDIT = "audit"

FINDINGS_WORM_MESSAGE = "findings are append-only (WORM)"
POLICIES_WORM_MESSAGE = "policies are append-only (WORM)"
AUDIT_WORM_MESSAGE = "audit records are append-only (WORM)"

#: table -> (message, row position column, content key column or None)
WORM_TABLES: dict[str, tuple[str, str, str | None]] = {
    "findings": (FINDINGS_WORM_MESSAGE, "pos", "id"),
    "policies": (POLICIES_WORM_MESSAGE, "pos", "id"),
    "audit": (AUDIT_WORM_MESSAGE, "seq", None),
}

OWN_TABLES = frozenset({"schema_version", "findings", "actor_profiles", "runs", "clusters",
                        "policies", "dead_letters", "audit"})

Migration = Callable[[sqlite_utils.Database], None]


def _create_table(db: sqlite_utils.Database, name: str, columns: dict[str, type],
                  **kwargs: Any) -> None:
    # sqlite-utils writes the DDL; executing it ourselves keeps it inside the
    # migration's transaction whatever the sqlite-utils version's commit habits.
    db.execute(db.create_table_sql(name, columns, **kwargs))


def _create_index(db: sqlite_utils.Database, table: str, columns: list[str], *,
                  index_name: str, unique: bool = False) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    db.execute(f'CREATE {"UNIQUE " if unique else ""}INDEX "{index_name}" ON "{table}" ({cols})')


def worm_trigger_names(table: str) -> tuple[str, ...]:
    names = [f"{table}_worm_update", f"{table}_worm_delete", f"{table}_worm_replace"]
    if WORM_TABLES[table][2] is not None:
        names.append(f"{table}_dedupe")
    return tuple(names)


def _create_worm_triggers(db: sqlite_utils.Database, table: str) -> None:
    message, pos, key = WORM_TABLES[table]
    raise_abort = f"SELECT RAISE(ABORT, '{message}');"
    db.execute(f"CREATE TRIGGER {table}_worm_update BEFORE UPDATE ON {table} "
               f"BEGIN {raise_abort} END")
    db.execute(f"CREATE TRIGGER {table}_worm_delete BEFORE DELETE ON {table} "
               f"BEGIN {raise_abort} END")
    db.execute(f"CREATE TRIGGER {table}_worm_replace BEFORE INSERT ON {table} "
               f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {pos} = NEW.{pos}) "
               f"BEGIN {raise_abort} END")
    if key is not None:
        # Same content id: already stored, keep the original row untouched.
        db.execute(f"CREATE TRIGGER {table}_dedupe BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
                   "BEGIN SELECT RAISE(IGNORE); END")


# --------------------------------------------------------------------------- flow store


def _flow_v1(db: sqlite_utils.Database) -> None:
    """Findings (WORM), actor profiles (upsert) and runs."""
    # ``pos`` is an explicit INTEGER PRIMARY KEY so the write order survives VACUUM
    # (implicit rowids may be renumbered); ``id`` is the content-derived identity.
    _create_table(
        db, "findings",
        {"pos": int, "id": str, "detector": str, "category": str, "severity": str,
         "severity_rank": int, "confidence": float, "venue": str, "market_id": str,
         "actor_id": str, "ts": int, "seq": int, "message": str, "citation": str,
         "evidence": str},
        pk="pos",
        not_null={"id", "detector", "category", "severity", "severity_rank", "confidence",
                  "venue", "market_id", "ts", "seq", "message", "citation", "evidence"},
    )
    _create_index(db, "findings", ["id"], index_name="findings_id", unique=True)
    _create_index(db, "findings", ["ts", "seq", "id"], index_name="findings_order")
    _create_index(db, "findings", ["actor_id", "ts"], index_name="findings_actor")
    _create_index(db, "findings", ["market_id", "ts"], index_name="findings_market")
    _create_worm_triggers(db, "findings")

    _create_table(
        db, "actor_profiles",
        {"venue": str, "actor_id": str, "event_count": int, "features": str, "taxonomy": str,
         "top_class": str, "last_updated_seq": int, "ts": int},
        pk=("venue", "actor_id"),
        not_null={"venue", "actor_id", "event_count", "features", "taxonomy",
                  "last_updated_seq", "ts"},
    )
    _create_index(db, "actor_profiles", ["actor_id"], index_name="actor_profiles_actor")

    # ``findings``/``profiles``: what the run reported; ``findings_new``/``profiles_written``:
    # rows the store itself inserted for the run, counted in the same transaction as the
    # rows, so the sum of ``findings_new`` always equals the findings table's row count.
    _create_table(
        db, "runs",
        {"run_id": str, "mode": str, "config_hash": str, "feed": str, "feed_sha256": str,
         "plugins": str, "started_wall_ns": int, "finished_wall_ns": int, "events": int,
         "rejects": int, "findings": int, "profiles": int, "findings_new": int,
         "profiles_written": int, "status": str},
        pk="run_id",
        not_null={"run_id", "mode", "config_hash", "plugins", "started_wall_ns", "events",
                  "rejects", "findings", "profiles", "findings_new", "profiles_written",
                  "status"},
        defaults={"events": 0, "rejects": 0, "findings": 0, "profiles": 0, "findings_new": 0,
                  "profiles_written": 0, "status": "running", "plugins": "{}"},
    )


def _flow_v2(db: sqlite_utils.Database) -> None:
    """Actor clusters (upsert) and recovered policies (WORM)."""
    _create_table(
        db, "clusters",
        {"cluster_id": str, "venue": str, "members": str, "method": str, "score": float,
         "features": str, "last_updated_seq": int, "ts": int},
        pk="cluster_id",
        not_null={"cluster_id", "venue", "members", "method", "score", "features",
                  "last_updated_seq", "ts"},
    )
    _create_table(
        db, "policies",
        {"pos": int, "id": str, "venue": str, "actor_id": str, "model": str, "params": str,
         "ts": int, "seq": int},
        pk="pos",
        not_null={"id", "venue", "actor_id", "model", "params", "ts", "seq"},
    )
    _create_index(db, "policies", ["id"], index_name="policies_id", unique=True)
    _create_index(db, "policies", ["actor_id", "ts"], index_name="policies_actor")
    _create_worm_triggers(db, "policies")


def _flow_v3(db: sqlite_utils.Database) -> None:
    """Dead letters of alert routes (operational, may be marked resent)."""
    _create_table(
        db, "dead_letters",
        {"id": int, "route": str, "payload": str, "error": str, "wall_ns": int,
         "attempts": int, "last_attempt_wall_ns": int, "resent_wall_ns": int},
        pk="id",
        not_null={"route", "payload", "error", "wall_ns", "attempts", "last_attempt_wall_ns"},
        defaults={"attempts": 1},
    )
    _create_index(db, "dead_letters", ["route", "resent_wall_ns"],
                                          index_name="dead_letters_route")


# --------------------------------------------------------------------------- audit log


def _audit_v1(db: sqlite_utils.Database) -> None:
    """The hash-chained audit log (WORM)."""
    _create_table(
        db, "audit",
        {"seq": int, "ts": int, "category": str, "payload": str, "prev_hash": str,
         "hash": str},
        pk="seq",
        not_null={"ts", "category", "payload", "prev_hash", "hash"},
    )
    _create_index(db, "audit", ["category", "seq"], index_name="audit_category")
    _create_worm_triggers(db, "audit")


MIGRATIONS: dict[str, tuple[Migration, ...]] = {
    FLOW: (_flow_v1, _flow_v2, _flow_v3),
    AUDIT: (_audit_v1,),
}

#: the WORM tables each component has at its current version
COMPONENT_WORM_TABLES: dict[str, tuple[str, ...]] = {
    FLOW: ("findings", "policies"),
    AUDIT: ("audit",),
}


def current_version(component: str) -> int:
    return len(MIGRATIONS[component])


def table_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


def stored_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """``{component: version}`` of what the file holds (empty for a fresh file)."""
    if "schema_version" not in table_names(conn):
        return {}
    rows = conn.execute("SELECT component, version FROM schema_version").fetchall()
    return {str(c): int(v) for c, v in rows}


def check_ownership(conn: sqlite3.Connection, label: str) -> None:
    """Refuse to add our tables to some other application's database."""
    names = table_names(conn)
    if names and "schema_version" not in names:
        foreign = ", ".join(sorted(names)[:5])
        raise StoreError(f"{label}: a SQLite database of some other application (tables: "
                         f"{foreign}), not a horizon-flow store")


def check_not_newer(versions: dict[str, int], component: str, label: str) -> None:
    have, know = versions.get(component, 0), current_version(component)
    if have > know:
        raise StoreError(f"{label}: {component} schema version {have} is newer than this "
                         f"horizon-flow-store-sqlite knows ({know}); upgrade the plugin")


def migrate(conn: sqlite3.Connection, component: str, *, label: str,
            target: int | None = None) -> int:
    """Bring ``component`` up to ``target`` (default: current). Returns the version now."""
    steps = MIGRATIONS[component]
    goal = len(steps) if target is None else target
    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    try:
        check_ownership(conn, label)
        versions = stored_versions(conn)
        check_not_newer(versions, component, label)
        if versions.get(component, 0) >= goal:
            return versions.get(component, 0)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if "schema_version" not in table_names(conn):
                _create_table(
                    db, "schema_version",
                    {"component": str, "version": int, "updated_wall_ns": int},
                    pk="component", not_null={"version", "updated_wall_ns"})
            versions = stored_versions(conn)
            check_not_newer(versions, component, label)
            have = versions.get(component, 0)
            for step in steps[have:goal]:
                step(db)
            if goal > have:
                conn.execute(
                    "INSERT INTO schema_version (component, version, updated_wall_ns) "
                    "VALUES (?, ?, ?) ON CONFLICT(component) DO UPDATE SET "
                    "version = excluded.version, updated_wall_ns = excluded.updated_wall_ns",
                    (component, goal, time.time_ns()))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return max(goal, have)
    except sqlite3.Error as exc:
        raise store_error(label, f"migrating the {component} schema", exc) from None
