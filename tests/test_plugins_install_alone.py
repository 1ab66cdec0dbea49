"""Each plugin installs and loads alone beside the core, from its own dependency list.

A shared environment hides missing dependency declarations; a fresh venv
with just the core and one plugin does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import REPO, Venv

pytestmark = pytest.mark.slow

PLUGINS = {
    "store-sqlite": ("sqlite", ["store:sqlite"]),
    "detectors-builtin": ("builtin-detectors", ["detector:spoofing", "detector:layering",
                                                "detector:quote_stuffing", "detector:wash_trade",
                                                "detector:momentum_ignition", "detector:iceberg",
                                                "detector:split_order"]),
    "venue-hyperliquid": ("hyperliquid", ["venue:hyperliquid"]),
    "venue-polymarket": ("polymarket", ["venue:polymarket"]),
    "venue-kalshi": ("kalshi", ["venue:kalshi"]),
    "alert-apprise": ("apprise", ["alert_router:apprise"]),
}


@pytest.mark.parametrize("folder", sorted(PLUGINS))
def test_plugin_installs_alone_with_the_core(folder: str, venv_factory: Callable[[str], Venv],
                                             core_wheel: Path) -> None:
    entry_point, provides = PLUGINS[folder]
    venv = venv_factory(f"alone-{folder}")
    venv.install(core_wheel, REPO / "plugins" / folder)
    out = venv.flow_cmd("plugins", "list", "--json")
    assert out.returncode == 0, out.stderr
    records = {r["name"]: r for r in json.loads(out.stdout)}
    assert records[entry_point]["status"] == "active", records[entry_point]["error"]
    assert records[entry_point]["version"] == "0.1.0"
    for item in provides:
        assert item in records[entry_point]["provides"]
    assert all(r["status"] == "active" for r in records.values()), records
    assert venv.flow_cmd("--help").returncode == 0
