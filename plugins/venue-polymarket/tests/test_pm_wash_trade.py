"""A scripted wash trade between two wallets, given as chain logs (V1 and V2 exchanges).

Wallets A and B trade the same token back and forth: each match emits what
the exchange emits (maker leg, the taker's aggregate leg, OrdersMatched). The
logs decode to ``order.filled`` events naming both wallets, with buys and sells
matched and each execution's volume counted once, which is exactly what the
wash-trade detector consumes; when the built-in detectors are installed, the
test runs them through the engine and expects a finding naming both wallets.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from eth_abi import encode
from horizon_flow_venue_polymarket.chain import contracts as c
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer

A = "0x00000000000000000000000000000000000000aa"
B = "0x00000000000000000000000000000000000000bb"
TOKEN = 52114319501245915516055106046884209969926127482827954674443846427813813222426
SHARES = 300_000_000  # 300 shares
COLLATERAL = 150_000_000  # at 0.50
T0 = 1_760_000_000
ROUNDS = 6


def _addr(a: str) -> str:
    return "0x" + "0" * 24 + a[2:]


def _log(exchange: str, topics: list[str], data: bytes, block: int, tx: str, index: int) -> dict:
    return {"address": exchange, "topics": topics, "data": "0x" + data.hex(),
            "blockNumber": hex(block), "transactionHash": tx, "logIndex": hex(index),
            "removed": False}


def v1_match(maker: str, taker: str, block: int, tx: str) -> list[dict]:
    """Maker SELLs SHARES of TOKEN to taker for COLLATERAL, on the V1 exchange."""
    ex = c.CTF_EXCHANGE_V1
    filled = ["uint256"] * 5
    return [
        _log(ex, [c.TOPIC_V1_ORDER_FILLED, "0x" + "01" * 32, _addr(maker), _addr(taker)],
             encode(filled, [TOKEN, 0, SHARES, COLLATERAL, 0]), block, tx, 0),
        _log(ex, [c.TOPIC_V1_ORDER_FILLED, "0x" + "02" * 32, _addr(taker), _addr(ex)],
             encode(filled, [0, TOKEN, COLLATERAL, SHARES, 0]), block, tx, 1),
        _log(ex, [c.TOPIC_V1_ORDERS_MATCHED, "0x" + "02" * 32, _addr(taker)],
             encode(["uint256"] * 4, [0, TOKEN, COLLATERAL, SHARES]), block, tx, 2),
    ]


def v2_match(maker: str, taker: str, block: int, tx: str) -> list[dict]:
    """The same trade on the V2 exchange (side 1 = the maker SELLs)."""
    ex = c.CTF_EXCHANGE_V2
    filled = ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"]
    zero = b"\0" * 32
    return [
        _log(ex, [c.TOPIC_V2_ORDER_FILLED, "0x" + "03" * 32, _addr(maker), _addr(taker)],
             encode(filled, [1, TOKEN, SHARES, COLLATERAL, 0, zero, zero]), block, tx, 0),
        _log(ex, [c.TOPIC_V2_ORDER_FILLED, "0x" + "04" * 32, _addr(taker), _addr(ex)],
             encode(filled, [0, TOKEN, COLLATERAL, SHARES, 0, zero, zero]), block, tx, 1),
        _log(ex, [c.TOPIC_V2_ORDERS_MATCHED, "0x" + "04" * 32, _addr(taker)],
             encode(["uint8", "uint256", "uint256", "uint256"], [0, TOKEN, COLLATERAL, SHARES]),
             block, tx, 2),
    ]


def wash_logs() -> tuple[list[dict], dict[int, int]]:
    logs: list[dict] = []
    times: dict[int, int] = {}
    for i in range(ROUNDS):
        block, tx = 50_000_000 + i, "0x" + f"{i + 1:064x}"
        times[block] = T0 + 60 * i
        maker, taker = (B, A) if i % 2 == 0 else (A, B)  # the position goes back and forth
        logs += (v2_match if i < ROUNDS // 2 else v1_match)(maker, taker, block, tx)
    return logs, times


def decode() -> list:
    logs, times = wash_logs()
    n = PolymarketNormalizer(block_timestamps=times)
    events = [e for log in logs for e in n.normalize(log, None)]
    assert n.counters["chain_taker_aggregate_leg"] == ROUNDS
    assert n.counters["chain_orders_matched"] == ROUNDS
    return events


def test_wash_logs_decode_to_fills_naming_both_wallets():
    events = decode()
    assert len(events) == 2 * ROUNDS
    assert all(e.kind == "order.filled" and e.market_id == str(TOKEN) for e in events)
    assert all({e.actor_id, e.counterparty_id} == {A, B} for e in events)
    by_tx = defaultdict(list)
    for e in events:
        by_tx[e.tx_hash].append(e)
    assert len(by_tx) == ROUNDS
    for legs in by_tx.values():  # one buyer and one seller per execution, same price and size
        assert sorted(e.side for e in legs) == ["buy", "sell"]
        assert {(e.price, e.size, e.ts) for e in legs} == {(legs[0].price, 300.0, legs[0].ts)}
        assert sorted(e.aggressor for e in legs) == [False, True]
        buyer = next(e for e in legs if e.side == "buy")
        seller = next(e for e in legs if e.side == "sell")
        assert (buyer.counterparty_id, seller.counterparty_id) == (seller.actor_id,
                                                                   buyer.actor_id)
    net = defaultdict(float)
    for e in events:
        net[e.actor_id] += e.size if e.side == "buy" else -e.size
    assert net == {A: 0.0, B: 0.0}  # ends where it started
    assert {e.price for e in events} == {0.5}
    # volume once per execution: the makers' legs sum to the traded shares
    assert sum(e.size for e in events if not e.aggressor) == ROUNDS * 300.0
    assert {e.extra["exchange"] for e in events} == {"v1", "v2"}


def test_wash_trade_detector_names_both_wallets():
    wash = pytest.importorskip("horizon_flow_detectors_builtin.detectors.wash_trade")
    from horizon_flow_core.engine import FlowEngine

    detector = wash.WashTradeDetector(wash.WashTradeConfig(min_cluster_volume=1000.0,
                                                           confirm_after_s=60.0))
    engine = FlowEngine()
    engine.add_detector(detector)
    findings = []
    engine.on_finding(findings.append)
    for ev in decode():
        engine.ingest(ev)
    engine.close()
    wash_findings = [f for f in findings if f.category == "wash_trade"]
    assert wash_findings, "the scripted wash trade was not detected"
    text = str([f.to_dict() for f in wash_findings])
    assert A in text and B in text
