"""Spoofing: scripted episodes that must fire, near-misses that must not."""

from __future__ import annotations

import pytest
from horizon_flow_detectors_builtin.detectors.spoofing import SpoofingConfig, SpoofingDetector
from horizon_flow_detectors_builtin.harness import drive
from horizon_flow_detectors_builtin.scripting import Script

BOOK_BIDS = [(0.49, 300.0), (0.48, 300.0)]
BOOK_ASKS = [(0.51, 300.0), (0.52, 300.0)]


def spoof_episode(*, bait: float = 5000.0, executed: float = 200.0, cancel_ms: float = 900.0,
                  asks: list[tuple[float, float]] | None = None, bait_fill: float = 0.0,
                  anonymous_book: bool = False) -> Script:
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, asks if asks is not None else BOOK_ASKS)
    s.at(10).place("spoofer", "bait1", "buy", 0.48, bait)
    s.at(300).place("spoofer", "ask1", "sell", 0.51, executed)
    s.at(400).execute(taker="buyer", taker_oid="t1", maker="spoofer", maker_oid="ask1",
                      side="buy", price=0.51, size=executed)
    if bait_fill:
        s.at(500).execute(taker="seller", taker_oid="t2", maker="spoofer", maker_oid="bait1",
                          side="sell", price=0.48, size=bait_fill)
    s.at(10 + cancel_ms).cancel("bait1")
    return s


def test_fires_with_the_numbers_that_made_it():
    findings = drive(SpoofingDetector(), spoof_episode().events)
    assert len(findings) == 1
    f = findings[0]
    assert (f.detector, f.category, f.actor_id, f.market_id) == ("spoofing", "spoofing",
                                                                 "spoofer", "M")
    ev = f.evidence
    assert ev["bait_order_id"] == "bait1"
    assert ev["bait_side"] == "buy" and ev["opposite_side"] == "sell"
    assert ev["bait_size"] == 5000.0 and ev["bait_filled"] == 0.0
    assert ev["opposite_executed"] == 200.0
    assert ev["bait_to_execution_ratio"] == 25.0
    assert ev["life_ms"] == 900.0
    assert [x["order_id"] for x in ev["opposite_fills"]] == ["ask1"]
    # book: bids 600 + bait 5000 against asks 600
    assert ev["bait_side_depth"] == 5600.0 and ev["other_side_depth"] == 600.0
    assert ev["book_imbalance"] == pytest.approx(5000 / 6200, abs=1e-6)
    assert ev["imbalance_source"] == "engine_book"
    assert ev["anonymous"] is False
    assert ev["opposite_resting"] == 200.0
    assert set(ev["thresholds"]) == {"min_bait_size", "bait_to_aggressor_ratio",
                                     "bait_to_genuine_order_ratio", "cancel_window_ms",
                                     "min_book_imbalance", "max_bait_fill_ratio"}
    assert "CEA" in f.citation or "Commodity Exchange Act" in f.citation
    assert "cancelled it after 900 ms" in f.message
    assert 0.55 <= f.confidence < 1.0
    assert f.ts == spoof_episode().events[-1].ts and f.id


def test_works_without_any_book_from_resting_orders():
    s = Script()
    s.at(0).place("mm", "mb", "buy", 0.49, 300).place("mm", "ma", "sell", 0.51, 300)
    s.at(10).place("spoofer", "bait1", "buy", 0.48, 5000)
    s.at(300).place("spoofer", "ask1", "sell", 0.52, 200)
    s.at(400).execute(taker="buyer", taker_oid="t1", maker="spoofer", maker_oid="ask1",
                      side="buy", price=0.52, size=200)
    s.at(900).cancel("bait1")
    (f,) = drive(SpoofingDetector(), s.events)
    assert f.evidence["imbalance_source"] == "resting_orders"
    # resting: bids 300 + 5000, asks 300 + 200 at placement time
    assert f.evidence["book_imbalance"] == pytest.approx((5300 - 300) / 5600, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "threshold", "value", "required"),
    [
        ({"bait": 499.0, "executed": 20.0, "asks": [(0.51, 100.0)]}, "min_bait_size", 499.0,
         500.0),
        ({"bait": 900.0, "executed": 200.0}, "bait_to_aggressor_ratio", 4.5, 5.0),
        ({"cancel_ms": 2100.0}, "cancel_window_ms", 2100.0, 2000.0),
        ({"asks": [(0.51, 2000.0), (0.52, 2000.0)]}, "min_book_imbalance", 1 / 6, 0.3),
        ({"bait_fill": 1000.0}, "max_bait_fill_ratio", 0.2, 0.1),
    ],
)
def test_one_threshold_short_does_not_fire_and_says_which(kwargs, threshold, value, required):
    det = SpoofingDetector()
    assert drive(det, spoof_episode(**kwargs).events) == []
    (miss,) = det.near_misses()
    assert miss["threshold"] == threshold
    assert miss["value"] == pytest.approx(value, rel=1e-3)
    assert miss["required"] == required
    assert 0.3 <= miss["closeness"] < 1.0
    assert miss["actor_id"] == "spoofer" and miss["market_id"] == "M"
    assert miss["failed"] == [threshold]


def test_large_genuine_order_cancelled_after_a_long_time_does_not_fire():
    det = SpoofingDetector()
    assert drive(det, spoof_episode(cancel_ms=30_000).events) == []
    # far past the window: not even a near-miss worth listing
    assert det.near_misses() == []


def test_market_maker_cancelling_and_requoting_does_not_fire():
    s = Script()  # no book feed: imbalance comes from the resting orders
    t = 0.0
    for i in range(20):  # a two-sided quoter: 800 a side, lifted now and then, requotes
        s.at(t).place("mm", f"b{i}", "buy", 0.49, 800).place("mm", f"a{i}", "sell", 0.51, 800)
        s.at(t + 200).execute(taker="buyer", taker_oid=f"t{i}", maker="mm", maker_oid=f"a{i}",
                              side="buy", price=0.51, size=150)
        s.at(t + 500).cancel(f"b{i}").cancel(f"a{i}")
        t += 600
    det = SpoofingDetector()
    assert drive(det, s.events) == []
    # size (800) and ratio (800 / 150 = 5.3) pass; the quotes on both sides keep
    # the book balanced, and that is what stops every requote
    misses = det.near_misses()
    assert misses and {m["threshold"] for m in misses} == {"min_book_imbalance"}


def test_no_opposite_execution_is_not_a_candidate():
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).place("whale", "big", "buy", 0.48, 5000)
    s.at(500).cancel("big")
    det = SpoofingDetector()
    assert drive(det, s.events) == [] and det.near_misses() == []


def test_two_baits_against_one_execution_are_one_episode():
    s = spoof_episode()
    s.at(950).place("spoofer", "bait2", "buy", 0.47, 5000)
    s.at(1000).cancel("bait2")
    # bait2 rested after the execution: no execution in its life, so no second finding
    findings = drive(SpoofingDetector(), s.events)
    assert len(findings) == 1


def test_second_bait_cancelled_for_the_same_execution_is_not_a_new_finding():
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).place("spoofer", "bait1", "buy", 0.48, 5000)
    s.at(20).place("spoofer", "bait2", "buy", 0.47, 5000)
    s.at(300).place("spoofer", "ask1", "sell", 0.51, 200)
    s.at(400).execute(taker="buyer", taker_oid="t1", maker="spoofer", maker_oid="ask1",
                      side="buy", price=0.51, size=200)
    s.at(900).cancel("bait1").cancel("bait2")
    findings = drive(SpoofingDetector(), s.events)
    assert [f.evidence["bait_order_id"] for f in findings] == ["bait1"]


def test_confidence_rises_with_the_ratio():
    confs = []
    for bait in (1100.0, 2000.0, 5000.0, 20000.0):
        (f,) = drive(SpoofingDetector(), spoof_episode(bait=bait).events)
        confs.append(f.confidence)
    assert confs == sorted(confs) and confs[0] < confs[-1]


def test_deterministic():
    a = [f.to_dict() for f in drive(SpoofingDetector(), spoof_episode().events)]
    b = [f.to_dict() for f in drive(SpoofingDetector(), spoof_episode().events)]
    assert a == b and a


def anonymous_episode(*, added: float = 5000.0, life_ms: float = 900.0,
                      traded_elsewhere: float = 200.0) -> Script:
    s = Script(venue="polymarket")
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).delta("buy", 0.48, 300 + added)
    s.at(300).tape(0.51, traded_elsewhere, "buy")
    s.at(310).delta("sell", 0.51, 300 - traded_elsewhere)
    s.at(10 + life_ms).delta("buy", 0.48, 300)
    return s


def test_anonymous_venue_fires_from_book_and_tape_at_lower_confidence():
    (anon,) = drive(SpoofingDetector(), anonymous_episode().events)
    (named,) = drive(SpoofingDetector(), spoof_episode().events)
    assert anon.actor_id is None
    assert anon.evidence["anonymous"] is True
    assert anon.evidence["bait_size"] == 5000.0 and anon.evidence["bait_canceled"] == 5000.0
    assert anon.evidence["opposite_executed"] == 200.0
    assert anon.evidence["life_ms"] == 900.0
    assert anon.confidence < named.confidence


def test_anonymous_size_that_trades_away_is_not_a_bait():
    s = Script(venue="polymarket")
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).delta("buy", 0.48, 5300)
    s.at(300).tape(0.51, 200, "buy")
    s.at(400).tape(0.48, 5000, "sell")  # the size was hit: it traded
    s.at(500).delta("buy", 0.48, 300)
    assert drive(SpoofingDetector(), s.events) == []


def test_anonymous_path_stays_quiet_where_orders_are_identified():
    s = spoof_episode(cancel_ms=30_000)  # identified, not spoofing
    s.at(40_000).delta("buy", 0.48, 5300)
    s.at(40_100).tape(0.51, 100, "buy")
    s.at(40_200).delta("buy", 0.48, 300)
    assert drive(SpoofingDetector(), s.events) == []


def test_config_validation():
    with pytest.raises(ValueError, match="min_bait_size"):
        SpoofingConfig(min_bait_size=0)
    with pytest.raises(ValueError, match="min_book_imbalance"):
        SpoofingConfig(min_book_imbalance=1.5)
    cfg = SpoofingConfig()
    assert (cfg.min_bait_size, cfg.bait_to_aggressor_ratio, cfg.cancel_window_ms,
            cfg.min_book_imbalance) == (500.0, 5.0, 2000.0, 0.3)


def test_loosened_thresholds_fire_where_defaults_do_not():
    events = spoof_episode(bait=900.0).events
    assert drive(SpoofingDetector(), events) == []
    loose = SpoofingConfig(bait_to_aggressor_ratio=1.1)
    assert len(drive(SpoofingDetector(loose), events)) == 1


def test_evict_idle_drops_state():
    det = SpoofingDetector()
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).place("spoofer", "bait1", "buy", 0.48, 5000)
    drive(det, s.events, finish=False)
    assert det._baits and det._flows
    det.evict_idle(s.now + 1)
    assert not det._baits and not det._flows and not det._resting


def test_resting_orders_at_the_cap_drop_the_oldest_tenth_and_their_depth(monkeypatch):
    from horizon_flow_detectors_builtin.detectors import spoofing as sp

    monkeypatch.setattr(sp, "MAX_RESTING_PER_MARKET", 20)
    det = sp.SpoofingDetector()
    s = Script()
    for i in range(21):
        s.at(i).place(f"a{i}", f"o{i}", "buy", 0.40, 10.0)
    drive(det, s.events, finish=False)
    rest = det._resting["M"]
    assert list(rest.orders) == [f"o{i}" for i in range(2, 21)]
    assert rest.buy_depth == pytest.approx(190.0)


def split_bait_episode(*, prices: tuple[float, ...], each: float = 1900.0) -> Script:
    """A bait of ``len(prices)`` orders of ``each`` on the buy side; 400 sold meanwhile."""
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    for i, price in enumerate(prices):
        s.at(10 + i).place("spoofer", f"bait{i}", "buy", price, each)
    s.at(300).place("spoofer", "ask1", "sell", 0.51, 400)
    s.at(400).execute(taker="buyer", taker_oid="t1", maker="spoofer", maker_oid="ask1",
                      side="buy", price=0.51, size=400)
    for i in range(len(prices)):
        s.at(700 + i).cancel(f"bait{i}")
    return s


def test_a_bait_split_over_two_orders_is_judged_whole():
    # each order alone is 1900 / 400 = 4.75x the execution, under 5x; together 9.5x
    det = SpoofingDetector()
    (f,) = drive(det, split_bait_episode(prices=(0.49, 0.49)).events)
    ev = f.evidence
    assert ev["bait_size"] == 3800.0 and ev["bait_to_execution_ratio"] == 9.5
    assert [o["order_id"] for o in ev["bait_orders"]] == ["bait0", "bait1"]
    assert ev["placed_ts"] == ev["bait_orders"][0]["placed_ts"]
    assert "in 2 orders" in f.message
    # the first cancel, judged before the second order went, was short of the ratio
    assert [m["threshold"] for m in det.near_misses()] == ["bait_to_aggressor_ratio"]
    # the same orders judged one by one (one level allowed) do not fire
    alone = SpoofingDetector(SpoofingConfig(max_bait_levels=1))
    assert drive(alone, split_bait_episode(prices=(0.49, 0.48)).events) == []


def test_a_ladder_over_more_levels_is_left_to_layering():
    s = split_bait_episode(prices=(0.49, 0.48, 0.47))
    assert drive(SpoofingDetector(), s.events) == []
    assert len(drive(SpoofingDetector(SpoofingConfig(max_bait_levels=3)), s.events)) == 1


def test_market_maker_whose_hit_quote_matches_the_cancelled_one_does_not_fire():
    # bid 800 hit for 100 while the 800 ask rests: 8x the execution, but the
    # genuine order (the bid) is as large as the "bait"
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).place("mm", "ask", "sell", 0.52, 800).place("mm", "bid", "buy", 0.48, 800)
    s.at(300).execute(taker="seller", taker_oid="t1", maker="mm", maker_oid="bid",
                      side="sell", price=0.48, size=100)
    s.at(900).cancel("ask")
    det = SpoofingDetector(SpoofingConfig(min_bait_size=500, min_book_imbalance=0.0))
    assert drive(det, s.events) == []
    (miss,) = det.near_misses()
    assert miss["threshold"] == "bait_to_genuine_order_ratio" and miss["value"] == 1.0


def test_market_maker_with_a_bid_ladder_behind_its_hit_bid_does_not_fire():
    # asks 1,200 at one level; bids 3 x 300: the hit bid alone is a quarter of
    # the ask, but the maker quotes the bid side about as deep
    s = Script()
    s.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s.at(10).place("mm", "ask", "sell", 0.52, 1200)
    for i, price in enumerate((0.48, 0.47, 0.46)):
        s.place("mm", f"bid{i}", "buy", price, 300)
    s.at(300).execute(taker="seller", taker_oid="t1", maker="mm", maker_oid="bid0",
                      side="sell", price=0.48, size=100)
    s.at(900).cancel("ask")
    cfg = SpoofingConfig(min_bait_size=500, min_book_imbalance=0.0)
    det = SpoofingDetector(cfg)
    assert drive(det, s.events) == []
    (miss,) = det.near_misses()
    assert miss["threshold"] == "bait_to_genuine_order_ratio"
    assert miss["value"] == pytest.approx(1200 / 900)
    # with the bid ladder cancelled before the execution, the 1,200 ask is a bait
    s2 = Script()
    s2.at(0).snapshot(BOOK_BIDS, BOOK_ASKS)
    s2.at(10).place("mm", "ask", "sell", 0.52, 1200)
    for i, price in enumerate((0.48, 0.47, 0.46)):
        s2.place("mm", f"bid{i}", "buy", price, 300)
    s2.at(100).cancel("bid1").cancel("bid2")
    s2.at(300).execute(taker="seller", taker_oid="t1", maker="mm", maker_oid="bid0",
                       side="sell", price=0.48, size=100)
    s2.at(900).cancel("ask")
    assert len(drive(SpoofingDetector(cfg), s2.events)) == 1
