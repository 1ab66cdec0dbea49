"""Icebergs: refilling levels that must fire, ordinary levels that must not."""

from __future__ import annotations

import pytest
from horizon_flow_detectors_builtin.detectors.iceberg import IcebergConfig, IcebergDetector
from horizon_flow_detectors_builtin.harness import drive
from horizon_flow_detectors_builtin.scripting import Script


def book_iceberg(*, cycles: int = 4, tip: float = 100.0, refill_to: float | None = None,
                 trade: float | None = None) -> Script:
    """Anonymous venue: a 0.52 offer showing ``tip`` is lifted and comes back, ``cycles`` times."""
    s = Script(venue="polymarket")
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, tip), (0.53, 400.0)])
    t = 1000.0
    for _ in range(cycles):
        s.at(t).tape(0.52, trade or tip, "buy")
        s.at(t + 10).delta("sell", 0.52, 0.0)
        s.at(t + 200).delta("sell", 0.52, refill_to if refill_to is not None else tip)
        t += 2000
    return s


def test_fires_from_book_and_tape_with_the_numbers():
    (f,) = drive(IcebergDetector(), book_iceberg().events)
    assert f.category == "iceberg" and f.actor_id is None
    ev = f.evidence
    assert ev["side"] == "sell" and ev["price"] == 0.52
    assert ev["displayed_tip"] == 100.0
    assert ev["executions"] == 3 and ev["executed_volume"] == 300.0
    assert ev["refills"] == 2 and ev["refill_sizes"] == [100.0, 100.0]
    assert ev["exec_to_display_ratio"] == 3.0
    assert ev["displayed_from"] == "book" and ev["executions_from"] == "tape"
    assert ev["anonymous"] is True and "note" in ev
    assert "Zotikov" in f.citation


def test_one_episode_one_finding():
    assert len(drive(IcebergDetector(), book_iceberg(cycles=10).events)) == 1


def test_identified_iceberg_from_order_events_names_the_actor():
    s = Script()
    t = 0.0
    for i in range(4):  # the whale shows 100 at 0.52, and re-shows it when it is taken
        s.at(t).place("whale", f"tip{i}", "sell", 0.52, 100)
        s.at(t + 500).execute(taker=f"buyer{i}", maker="whale", maker_oid=f"tip{i}",
                              side="buy", price=0.52, size=100)
        t += 1000
    (f,) = drive(IcebergDetector(), s.events)
    assert f.actor_id == "whale" and f.evidence["anonymous"] is False
    assert f.evidence["displayed_from"] == "orders"
    assert f.evidence["passive_actors"] == {"whale": 300.0}
    (anon,) = drive(IcebergDetector(), book_iceberg().events)
    assert anon.confidence < f.confidence


@pytest.mark.parametrize(
    ("kwargs", "threshold"),
    [
        ({"cycles": 2}, "min_refills"),
        ({"cycles": 3, "trade": 50.0}, "min_exec_to_display_ratio"),
    ],
)
def test_one_threshold_short_does_not_fire_and_says_which(kwargs, threshold):
    det = IcebergDetector()
    assert drive(det, book_iceberg(**kwargs).events) == []
    miss = det.near_misses()[0]
    assert miss["threshold"] == threshold
    assert miss["detail"]["price"] == 0.52


def test_level_requoted_seconds_later_is_not_refilled():
    s = Script(venue="polymarket")
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, 100.0)])
    t = 1000.0
    for _ in range(5):  # a quoter re-posting the same size on a 3 s timer
        s.at(t).tape(0.52, 100, "buy")
        s.at(t + 10).delta("sell", 0.52, 0.0)
        s.at(t + 3000).delta("sell", 0.52, 100.0)
        t += 4000
    assert drive(IcebergDetector(), s.events) == []
    loose = IcebergDetector(IcebergConfig(max_refill_delay_ms=5000))
    assert len(drive(loose, s.events)) == 1


def test_ratio_short_does_not_fire():
    det = IcebergDetector(IcebergConfig(min_exec_to_display_ratio=3.5))
    assert drive(det, book_iceberg(cycles=3).events) == []
    miss = det.near_misses()[0]
    assert miss["threshold"] == "min_exec_to_display_ratio"
    assert miss["value"] == pytest.approx(3.0) and miss["required"] == 3.5


def test_refills_short_of_the_tip_are_not_refills():
    det = IcebergDetector()
    assert drive(det, book_iceberg(refill_to=60.0).events) == []


def test_large_visible_level_traded_into_does_not_fire():
    s = Script(venue="polymarket")
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, 1000.0)])
    left = 1000.0
    for i in range(6):  # many trades against a big displayed level, no refill
        s.at(1000 + i * 1000).tape(0.52, 100, "buy")
        left -= 100
        s.at(1010 + i * 1000).delta("sell", 0.52, left)
    assert drive(IcebergDetector(), s.events) == []


def test_market_maker_requoting_random_sizes_does_not_fire():
    s = Script(venue="polymarket")
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, 100.0)])
    sizes = [40.0, 150.0, 30.0, 55.0, 20.0]
    t = 1000.0
    shown = 100.0
    for sz in sizes:  # traded down, then others add size that rarely restores the tip
        s.at(t).tape(0.52, min(shown, 60.0), "buy")
        shown = max(shown - 60.0, 0.0)
        s.at(t + 10).delta("sell", 0.52, shown)
        shown += sz
        s.at(t + 200).delta("sell", 0.52, shown)
        t += 2000
    det = IcebergDetector()
    assert drive(det, s.events) == []


def test_confidence_rises_with_executed_over_displayed():
    confs = []
    for cycles in (3, 6, 12):
        det = IcebergDetector(IcebergConfig(min_executions=cycles, min_refills=cycles - 1))
        confs.append(drive(det, book_iceberg(cycles=cycles).events)[0].confidence)
    assert confs == sorted(confs) and confs[0] < confs[-1]


def test_deterministic():
    a = [f.to_dict() for f in drive(IcebergDetector(), book_iceberg().events)]
    b = [f.to_dict() for f in drive(IcebergDetector(), book_iceberg().events)]
    assert a == b and a


def test_config_validation():
    with pytest.raises(ValueError, match="refill_tolerance"):
        IcebergConfig(refill_tolerance=1.5)
    with pytest.raises(ValueError, match="min_exec_to_display_ratio"):
        IcebergConfig(min_exec_to_display_ratio=0.5)


# --------------------------------------------------------------------- order by order


def busy_level_iceberg(*, sizes: tuple[float, ...] = (100.0,) * 5, delay_ms: float = 150.0,
                       others: float = 500.0, two_sided: bool = False) -> Script:
    """A book venue whose order events name actors: ``others`` rest at 0.52 all along
    (the level never empties, and its largest size is theirs), while the whale's
    tranches of ``sizes`` at 0.52 are each taken and re-posted ``delay_ms`` later
    (``two_sided``: with a bid of its own requoted beside each, as a market maker)."""
    s = Script()
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, others), (0.53, 400.0)])
    shown = others
    t = 1000.0
    for i, size in enumerate(sizes):
        if two_sided:
            s.at(t - 1).place("whale", f"bid{i}", "buy", 0.50, size)
        s.at(t).place("whale", f"tip{i}", "sell", 0.52, size)
        shown += size
        s.delta("sell", 0.52, shown)
        s.at(t + 400).execute(taker=f"buyer{i}", maker="whale", maker_oid=f"tip{i}",
                              side="buy", price=0.52, size=size)
        shown -= size
        s.delta("sell", 0.52, shown)
        t += 400 + delay_ms
    return s


def test_tranches_behind_others_at_the_level_fire_order_by_order():
    # The level path alone cannot see this one: the level never empties and its
    # tip is the others' 600. One actor's fixed-size tranches, each posted as the
    # last is filled, are the iceberg (Zotikov and Antonov's order-level signature).
    (f,) = drive(IcebergDetector(), busy_level_iceberg().events)
    ev = f.evidence
    assert f.actor_id == "whale" and ev["anonymous"] is False
    assert ev["displayed_from"] == "orders" and ev["executions_from"] == "fills"
    assert ev["displayed_tip"] == 100.0 and ev["tranche_size"] == 100.0
    assert ev["executions"] == 3 and ev["executed_volume"] == 300.0
    assert ev["refills"] == 2 and ev["tranches"] == 3 and ev["refill_sizes"] == [100.0, 100.0]
    assert ev["exec_to_display_ratio"] == 3.0
    assert "order by order" in f.message


def test_market_maker_requoting_other_sizes_is_not_a_tranche_chain():
    sizes = (100.0, 104.0, 97.0, 103.0, 99.0)
    varied = busy_level_iceberg(sizes=sizes, two_sided=True).events
    assert drive(IcebergDetector(), varied) == []
    # the tolerance is the knob: at 5% the same requotes are one chain
    loose = IcebergDetector(IcebergConfig(tranche_size_tolerance=0.05))
    assert len(drive(loose, varied)) == 1


def test_randomized_peaks_of_a_one_sided_actor_are_an_iceberg():
    # an iceberg order randomizing each peak by up to 20%, nothing on the bid side
    sizes = (100.0, 118.0, 85.0, 110.0, 92.0)
    (f,) = drive(IcebergDetector(), busy_level_iceberg(sizes=sizes).events)
    assert f.actor_id == "whale" and f.evidence["tranche_size"] == 100.0
    strict = IcebergDetector(IcebergConfig(randomized_tranche_tolerance=0.01))
    assert drive(strict, busy_level_iceberg(sizes=sizes).events) == []


def test_tranche_posted_too_late_ends_the_chain():
    det = IcebergDetector()
    late = busy_level_iceberg(delay_ms=800.0).events
    assert drive(det, late) == []
    two_then_late = busy_level_iceberg(sizes=(100.0, 100.0), delay_ms=150.0)
    two_then_late.at(5000).place("whale", "tip9", "sell", 0.52, 100.0)  # seconds later
    det = IcebergDetector()
    assert drive(det, two_then_late.events) == []
    (miss,) = [m for m in det.near_misses() if m["detail"].get("from") == "orders"]
    assert miss["actor_id"] == "whale" and miss["detail"]["refills"] == 1
    assert miss["threshold"] in ("min_executions", "min_refills")


def test_canceled_tranche_ends_the_chain():
    s = busy_level_iceberg(sizes=(100.0, 100.0))
    s.at(3000).place("whale", "tipX", "sell", 0.52, 100.0)
    s.at(3050).cancel("tipX")
    s.at(3100).place("whale", "tipY", "sell", 0.52, 100.0)
    s.at(3200).execute(taker="b", maker="whale", maker_oid="tipY", side="buy", price=0.52,
                       size=100.0)
    assert drive(IcebergDetector(), s.events) == []


def test_iceberg_alone_at_its_level_is_one_finding():
    # both paths see it (the level empties and refills, and the orders chain): reported once
    s = Script()
    s.at(0).snapshot([(0.50, 300.0)], [(0.53, 400.0)])
    t = 1000.0
    for i in range(6):
        s.at(t).place("whale", f"tip{i}", "sell", 0.52, 100.0)
        s.delta("sell", 0.52, 100.0)
        s.at(t + 400).execute(taker=f"b{i}", maker="whale", maker_oid=f"tip{i}", side="buy",
                              price=0.52, size=100.0)
        s.delta("sell", 0.52, 0.0)
        t += 550
    (f,) = drive(IcebergDetector(), s.events)
    assert f.actor_id == "whale"


def test_tranche_state_is_bounded_and_evicted():
    from horizon_flow_detectors_builtin.detectors.iceberg_tranches import TrancheChains

    det = IcebergDetector()
    events = busy_level_iceberg(sizes=(100.0, 100.0)).events
    drive(det, events)
    tranches = det._markets["M"].tranches
    assert tranches.chains  # the whale's chain, waiting for its next tranche
    det.evict_idle(events[-1].ts + 1)
    assert "M" not in det._markets
    chains = TrancheChains(refill_ns=500_000_000, tolerance=0.01)
    s = Script()
    s.at(0).place("a", "o1", "sell", 0.52, 10.0)
    s.at(10_000).place("a", "o2", "sell", 0.52, 10.0)
    for ev in s.events:
        chains.placed(ev, "a")
    chains.evict(s.events[-1].ts)
    assert list(chains.orders) == ["o2"]


def test_tranche_tolerance_validated():
    with pytest.raises(ValueError, match="tranche_size_tolerance"):
        IcebergConfig(tranche_size_tolerance=1.5)


def test_refills_of_varying_size_are_a_requoter_not_an_iceberg():
    # each refill is within 20% of the tip, but an iceberg re-shows one fixed size
    s = Script(venue="polymarket")
    s.at(0).snapshot([(0.50, 300.0)], [(0.52, 100.0), (0.53, 400.0)])
    t = 1000.0
    shown = 100.0
    for size in (108.0, 93.0, 115.0, 97.0):
        s.at(t).tape(0.52, shown, "buy")
        s.at(t + 10).delta("sell", 0.52, 0.0)
        s.at(t + 200).delta("sell", 0.52, size)
        shown = size
        t += 2000
    det = IcebergDetector()
    assert drive(det, s.events) == []
    assert det.near_misses()[0]["threshold"] == "min_refills"
    loose = IcebergDetector(IcebergConfig(tranche_size_tolerance=0.2))
    assert len(drive(loose, s.events)) == 1


def test_tranche_orders_and_chains_are_capped_oldest_first(monkeypatch):
    from horizon_flow_detectors_builtin.detectors import iceberg_tranches as it

    monkeypatch.setattr(it, "MAX_ORDERS_PER_MARKET", 3)
    monkeypatch.setattr(it, "MAX_CHAINS_PER_MARKET", 2)
    chains = it.TrancheChains(refill_ns=500_000_000, tolerance=0.01)
    s = Script()
    for i in range(5):
        s.at(i * 10).place(f"a{i}", f"o{i}", "sell", 0.50 + i / 100, 10.0)
    for ev in s.events:
        chains.placed(ev, ev.actor_id)
    assert list(chains.orders) == ["o2", "o3", "o4"]  # at the cap the oldest tenth (one) goes
    fills = Script()
    for i in (2, 3, 4):  # each order filled in full: a chain per actor, two kept
        fills.at(100 + i).execute(taker="b", maker=f"a{i}", maker_oid=f"o{i}", side="buy",
                                  price=0.50 + i / 100, size=10.0)
    for ev in fills.events:
        if ev.kind == "order.filled" and ev.aggressor is False:
            assert chains.filled(ev, 10.0, "sell") is not None
    assert list(chains.chains) == ["a3", "a4"]
    assert chains.chain("a4", "sell", 0.54) is not None and chains.chain("a4", "buy", 0.54) is None


def test_tranche_orders_at_the_cap_drop_the_oldest_tenth_at_once(monkeypatch):
    from horizon_flow_detectors_builtin.detectors import iceberg_tranches as it

    monkeypatch.setattr(it, "MAX_ORDERS_PER_MARKET", 20)
    chains = it.TrancheChains(refill_ns=500_000_000, tolerance=0.01)
    s = Script()
    for i in range(21):
        s.at(i).place("a", f"o{i}", "sell", 0.50, 1.0)
    for ev in s.events:
        chains.placed(ev, "a")
    assert list(chains.orders) == [f"o{i}" for i in range(2, 21)]  # o0, o1 went together
