"""Layering: scripted episodes that must fire, near-misses that must not."""

from __future__ import annotations

import pytest
from horizon_flow_detectors_builtin.detectors.layering import LayeringConfig, LayeringDetector
from horizon_flow_detectors_builtin.harness import drive
from horizon_flow_detectors_builtin.scripting import Script


def layering_episode(*, layers: int = 3, layer_size: float = 1000.0, executed: float = 100.0,
                     cancel_after_ms: float = 800.0, placed_before_ms: float = 1000.0,
                     keep_asks: float = 0.0) -> Script:
    s = Script()
    s.at(0).place("layerer", "genuine", "sell", 0.52, executed)
    if keep_asks:
        s.place("layerer", "other_ask", "sell", 0.53, keep_asks)
    t_exec = max(2000.0, placed_before_ms + 1000.0)
    s.at(t_exec - placed_before_ms)
    for i in range(layers):
        s.place("layerer", f"L{i}", "buy", round(0.49 - 0.01 * i, 2), layer_size)
    s.at(t_exec).execute(taker="buyer", taker_oid="t1", maker="layerer", maker_oid="genuine",
                         side="buy", price=0.52, size=executed)
    for i in range(layers):
        s.at(t_exec + cancel_after_ms * (i + 1) / layers).cancel(f"L{i}")
    return s


def test_fires_with_the_numbers_that_made_it():
    (f,) = drive(LayeringDetector(), layering_episode().events)
    assert (f.detector, f.category, f.actor_id) == ("layering", "layering", "layerer")
    ev = f.evidence
    assert ev["layer_side"] == "buy" and ev["execution_side"] == "sell"
    assert ev["layer_prices"] == [0.49, 0.48, 0.47]
    assert ev["layer_sizes"] == [1000.0, 1000.0, 1000.0]
    assert ev["layer_order_ids"] == ["L0", "L1", "L2"]
    assert ev["executed"] == 100.0 and ev["execution_order_ids"] == ["genuine"]
    assert ev["layer_to_execution_ratio"] == 30.0
    assert ev["cancel_after_execution_ms"] == 800.0
    assert ev["own_resting_on_execution_side"] == 0.0
    assert ev["anonymous"] is False
    assert "2016/522" in f.citation and "FINRA" in f.citation
    assert "3 buy orders" in f.message


@pytest.mark.parametrize(
    ("kwargs", "threshold", "value", "required"),
    [
        ({"layers": 2}, "min_layers", 2.0, 3.0),
        ({"cancel_after_ms": 4500.0}, "cancel_within_ms", 4500.0, 3000.0),
        ({"layer_size": 90.0}, "min_layer_to_execution_ratio", 2.7, 3.0),
        ({"keep_asks": 2000.0}, "max_two_sided_ratio", 2000 / 3000, 0.5),
    ],
)
def test_one_threshold_short_does_not_fire_and_says_which(kwargs, threshold, value, required):
    det = LayeringDetector()
    assert drive(det, layering_episode(**kwargs).events) == []
    (miss,) = det.near_misses()
    assert miss["threshold"] == threshold
    assert miss["value"] == pytest.approx(value, rel=1e-3)
    assert miss["required"] == required
    assert miss["actor_id"] == "layerer"


def test_orders_resting_long_before_the_execution_are_not_layers():
    det = LayeringDetector()
    assert drive(det, layering_episode(placed_before_ms=60_000).events) == []


def test_market_maker_ladder_cancelling_and_requoting_does_not_fire():
    s = Script()
    t = 0.0
    for r in range(10):
        for i in range(3):  # a symmetric three-level ladder
            s.at(t).place("mm", f"b{r}_{i}", "buy", round(0.49 - 0.01 * i, 2), 100)
            s.place("mm", f"a{r}_{i}", "sell", round(0.51 + 0.01 * i, 2), 100)
        s.at(t + 300).execute(taker="buyer", taker_oid=f"t{r}", maker="mm",
                              maker_oid=f"a{r}_0", side="buy", price=0.51, size=100)
        for i in range(3):  # requote: pull everything, then the next round places anew
            s.at(t + 400 + i).cancel(f"b{r}_{i}")
            if i:
                s.cancel(f"a{r}_{i}")
        t += 1000
    det = LayeringDetector()
    assert drive(det, s.events) == []
    misses = det.near_misses()
    assert misses and {m["threshold"] for m in misses} == {"max_two_sided_ratio"}


def test_skewed_market_maker_cancelling_everything_to_requote_does_not_fire():
    s = Script()
    t = 0.0
    for r in range(6):  # long inventory: one bid, three asks; every 2 s it requotes all
        s.at(t).place("mm", f"b{r}", "buy", 0.48, 280)
        for i in range(3):
            s.place("mm", f"a{r}_{i}", "sell", round(0.51 + 0.01 * i, 2), 150 + 50 * i)
        s.at(t + 100).execute(taker="seller", maker="mm", maker_oid=f"b{r}", side="sell",
                              price=0.48, size=15)
        s.at(t + 1700).cancel(f"b{r}")
        for i in range(3):
            s.cancel(f"a{r}_{i}")
        t += 1700
    s.at(t).place("mm", "b_last", "buy", 0.48, 280)
    for i in range(3):
        s.place("mm", f"a_last_{i}", "sell", round(0.51 + 0.01 * i, 2), 150 + 50 * i)
    assert drive(LayeringDetector(), s.events) == []
    # what stops it is the requote: every ask put straight back
    assert drive(LayeringDetector(LayeringConfig(max_requote_ratio=2.0)), s.events) != []
    # the same episode without the requote is layering
    withdrawn = Script()
    withdrawn.at(0).place("mm", "b0", "buy", 0.48, 280)
    for i in range(3):
        withdrawn.place("mm", f"a0_{i}", "sell", round(0.51 + 0.01 * i, 2), 150 + 50 * i)
    withdrawn.at(100).execute(taker="seller", maker="mm", maker_oid="b0", side="sell",
                              price=0.48, size=15)
    withdrawn.at(1700).cancel("a0_0").cancel("a0_1").cancel("a0_2")
    (f,) = drive(LayeringDetector(), withdrawn.events)
    assert f.evidence["replaced_within_requote_window"] == 0.0


def test_confidence_rises_with_layers_and_ratio():
    confs = [drive(LayeringDetector(), layering_episode(layers=n, layer_size=sz).events)[0]
             .confidence for n, sz in ((3, 300.0), (4, 1000.0), (6, 3000.0))]
    assert confs == sorted(confs) and confs[0] < confs[-1]


def test_deterministic():
    a = [f.to_dict() for f in drive(LayeringDetector(), layering_episode().events)]
    b = [f.to_dict() for f in drive(LayeringDetector(), layering_episode().events)]
    assert a == b and a


def test_anonymous_layers_in_the_book_fire_at_lower_confidence():
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50), (0.48, 50), (0.47, 50)], [(0.51, 200), (0.52, 200)])
    s.at(100).delta("buy", 0.49, 1050).delta("buy", 0.48, 1050).delta("buy", 0.47, 1050)
    s.at(600).tape(0.51, 150, "buy").delta("sell", 0.51, 50)
    s.at(900).delta("buy", 0.49, 50).delta("buy", 0.48, 50).delta("buy", 0.47, 50)
    (f,) = drive(LayeringDetector(), s.events)
    (named,) = drive(LayeringDetector(), layering_episode().events)
    assert f.actor_id is None and f.evidence["anonymous"] is True
    assert f.evidence["layer_prices"] == [0.49, 0.48, 0.47]
    assert f.evidence["layered_size"] == 3000.0 and f.evidence["executed"] == 150.0
    assert f.confidence < named.confidence


def test_config_defaults_and_validation():
    cfg = LayeringConfig()
    assert (cfg.min_layers, cfg.cancel_within_ms) == (3, 3000.0)
    with pytest.raises(ValueError, match="min_layers"):
        LayeringConfig(min_layers=1)
    with pytest.raises(ValueError, match="cancel_within_ms"):
        LayeringConfig(cancel_within_ms=-1)


def test_evict_idle_drops_state():
    det = LayeringDetector()
    s = layering_episode()
    drive(det, s.events[:5], finish=False)
    assert det._traders
    det.evict_idle(s.now + 1)
    assert not det._traders and not det._identified


def worked_in_pieces(*, layer_fill: float = 0.0) -> Script:
    """The genuine sell of 90 fills in two pieces; two layers go in before the first
    piece and one more between the pieces, then all three are cancelled. A
    ``layer_fill`` executes that much of the first layer on the way."""
    s = Script()
    s.at(0).place("layerer", "genuine", "sell", 0.52, 90.0)
    s.at(100).place("layerer", "L0", "buy", 0.49, 1000.0)
    s.place("layerer", "L1", "buy", 0.48, 1000.0)
    s.at(200).execute(taker="b1", maker="layerer", maker_oid="genuine", side="buy", price=0.52,
                      size=30.0)
    s.at(300).place("layerer", "L2", "buy", 0.47, 1000.0)
    s.at(600).execute(taker="b2", maker="layerer", maker_oid="genuine", side="buy", price=0.52,
                      size=60.0)
    if layer_fill:
        s.at(700).execute(taker="s1", maker="layerer", maker_oid="L0", side="sell",
                          price=0.49, size=layer_fill)
    for i in range(3):
        s.at(1000 + 100 * i).cancel(f"L{i}")
    return s


def test_layer_added_while_the_genuine_order_is_worked_counts():
    # L2 went in after the first piece but before the second: it rested against the
    # second piece, so it is a layer (before, the episode had only L0 and L1)
    (f,) = drive(LayeringDetector(), worked_in_pieces().events)
    ev = f.evidence
    assert ev["layer_order_ids"] == ["L0", "L1", "L2"] and ev["executed"] == 90.0
    assert ev["execution_order_ids"] == ["genuine"] and ev["layers_partly_filled"] == 0.0


def test_layer_touched_by_a_small_fill_keeps_the_episode():
    (f,) = drive(LayeringDetector(), worked_in_pieces(layer_fill=20.0).events)
    assert f.evidence["layers_partly_filled"] == 20.0
    assert f.evidence["layer_sizes"] == [980.0, 1000.0, 1000.0]
    # a layer trading like a bona fide quote (over 10% of the resting layers) ends it
    assert drive(LayeringDetector(), worked_in_pieces(layer_fill=400.0).events) == []
    tolerant = LayeringDetector(LayeringConfig(max_layer_fill_ratio=0.5))
    assert len(drive(tolerant, worked_in_pieces(layer_fill=400.0).events)) == 1
    with pytest.raises(ValueError, match="max_layer_fill_ratio"):
        LayeringConfig(max_layer_fill_ratio=1.5)


def anonymous_pull(*, requote: bool = False, both_sides: bool = False) -> Script:
    """The anonymous episode above, then a later book event (the requote hold ends in
    the stream). ``requote``: the bid ladder is re-posted at new prices at once;
    ``both_sides``: asks added with the bids are pulled at the same moment."""
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50), (0.48, 50), (0.47, 50)],
                     [(0.51, 200), (0.52, 200), (0.53, 200)])
    s.at(100).delta("buy", 0.49, 1050).delta("buy", 0.48, 1050).delta("buy", 0.47, 1050)
    if both_sides:
        s.delta("sell", 0.52, 1200).delta("sell", 0.53, 1200)
    s.at(600).tape(0.51, 150, "buy").delta("sell", 0.51, 50)
    s.at(900).delta("buy", 0.49, 50).delta("buy", 0.48, 50).delta("buy", 0.47, 50)
    if both_sides:
        s.delta("sell", 0.52, 200).delta("sell", 0.53, 200)
    if requote:
        s.at(950).delta("buy", 0.46, 1050).delta("buy", 0.45, 1050)
    s.at(2000).delta("sell", 0.53, 210)
    return s


def test_anonymous_layers_are_reported_after_the_requote_window():
    events = anonymous_pull().events
    out = []
    det = LayeringDetector()
    for ev in events:  # through the stream, without finish: held, then reported
        out += det.on_event(ev, None) or []
    (f,) = out
    assert f.ts == events[-1].ts  # reported by the first event after the hold
    assert f.evidence["replaced_within_requote_window"] == 0.0
    assert f.evidence["other_side_withdrawn"] == 0.0
    assert set(f.evidence["thresholds"]) >= {"max_requote_ratio", "max_two_sided_ratio"}


@pytest.mark.parametrize(("kwargs", "threshold"), [({"requote": True}, "max_requote_ratio"),
                                                   ({"both_sides": True}, "max_two_sided_ratio")])
def test_market_maker_ladder_pull_in_an_anonymous_book_is_not_layering(kwargs, threshold):
    # Without identity a market maker's ladder pulled untraded looks like layers; it
    # is put straight back at new prices, or pulled on both sides at once.
    det = LayeringDetector()
    assert drive(det, anonymous_pull(**kwargs).events) == []
    assert any(m["threshold"] == threshold and m["detail"]["anonymous"]
               for m in det.near_misses())


@pytest.mark.parametrize(("aggressor", "fires"), [("buy", True), ("sell", False), (None, True)])
def test_anonymous_layers_need_trading_against_the_other_side(aggressor, fires):
    # bid layers are there to help an offer trade: prints lifting offers count;
    # prints only hitting bids do not; prints naming no side fall back to all prints
    s = Script(venue="kalshi")
    s.at(0).snapshot([(0.49, 50), (0.48, 50), (0.47, 50)], [(0.51, 200), (0.52, 200)])
    s.at(100).delta("buy", 0.49, 1050).delta("buy", 0.48, 1050).delta("buy", 0.47, 1050)
    price = 0.51 if aggressor != "sell" else 0.46
    s.at(600).tape(price, 150, aggressor)
    s.at(900).delta("buy", 0.49, 50).delta("buy", 0.48, 50).delta("buy", 0.47, 50)
    assert len(drive(LayeringDetector(), s.events)) == (1 if fires else 0)


def test_evict_idle_drops_anonymous_state():
    det = LayeringDetector()
    events = anonymous_pull(both_sides=True).events
    drive(det, events)
    assert det._pulled and det._withdrawals
    det.evict_idle(events[-1].ts + 1)
    assert not det._pulled and not det._withdrawals and not det._anon_held


def pulled_and_requoted(*, pause_ms: float, back: tuple[float, ...]) -> Script:
    """A market maker's ask ladder (300, 600, 900), its bid hit for 50, the asks
    pulled 400 ms later and, ``pause_ms`` after that, asks of ``back`` put up again."""
    s = Script()
    s.at(0).place("mm", "bid", "buy", 0.48, 100)
    for i, size in enumerate((300.0, 600.0, 900.0)):
        s.place("mm", f"a{i}", "sell", round(0.51 + 0.01 * i, 2), size)
    s.at(100).execute(taker="seller", maker="mm", maker_oid="bid", side="sell", price=0.48,
                      size=50)
    s.at(500).cancel("a0").cancel("a1").cancel("a2")
    for i, size in enumerate(back):
        s.at(500 + pause_ms).place("mm", f"n{i}", "sell", round(0.50 + 0.01 * i, 2), size)
    s.at(5000).execute(taker="x", maker="y", side="buy", price=0.5, size=1)  # time passes
    return s


def test_a_market_maker_pausing_a_second_before_requoting_does_not_fire():
    s = pulled_and_requoted(pause_ms=1000.0, back=(300.0, 600.0, 900.0))
    assert drive(LayeringDetector(), s.events) == []
    short = LayeringDetector(LayeringConfig(requote_window_ms=500.0))
    assert len(drive(short, s.events)) == 1


def test_a_ladder_rolled_inward_smaller_is_a_requote():
    # the deep 900 is dropped: 900 of 1,800 comes back, a half
    s = pulled_and_requoted(pause_ms=1.0, back=(300.0, 600.0))
    assert drive(LayeringDetector(), s.events) == []
    # nothing put back: layering
    assert len(drive(LayeringDetector(), pulled_and_requoted(pause_ms=1.0, back=()).events)) == 1
