"""CTF Exchange logs: topics, the two real logs, the 21 V2 fee vectors, legs and dedupe."""

from __future__ import annotations

from fractions import Fraction

import orjson
import pytest
from eth_abi import encode
from eth_utils import keccak
from horizon_flow_venue_polymarket.chain import contracts as c
from horizon_flow_venue_polymarket.chain.decode import (
    ChainFill,
    ChainMatch,
    decode_log,
    plain_log,
    taker_fee_units,
)
from horizon_flow_venue_polymarket.normalizer import PolymarketNormalizer

from horizon_flow_core.errors import FrameError

V2_MAKER = "0xa253d75c2dfb2c6650291d5e8d54076d2fb40181"
V2_TAKER = "0x92c9ad93ba0e400ffc8d716edf70a588d246bde3"
V1_MAKER = "0x00000003a358014c7c0e227483dbe01619871000"
V1_TAKER = "0xe55b90febea370d4611a4b0a9ff201183268b24e"
V2_TOKEN = "92995309462039665251203590892224533684024782310651466832592596015862972883776"
V1_TOKEN = "114856201873541567677341731370365137173235058495071385195611596664202155739948"
S = 1_000_000_000


def _topic_addr(a: str) -> str:
    return "0x" + "0" * 24 + a[2:].lower()


def v2_log(*, maker: str, taker: str, side: int, token: int, maker_amount: int,
           taker_amount: int, fee: int = 0, exchange: str = c.CTF_EXCHANGE_V2,
           tx: str = "0x" + "11" * 32, log_index: int = 0, block: int = 90_000_000,
           block_ts: int | None = 1_784_965_486, order_hash: bytes = b"\x01" * 32) -> dict:
    data = encode(["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
                  [side, token, maker_amount, taker_amount, fee, b"\x00" * 32, b"\x00" * 32])
    log = {"address": exchange,
           "topics": [c.TOPIC_V2_ORDER_FILLED, "0x" + order_hash.hex(), _topic_addr(maker),
                      _topic_addr(taker)],
           "data": "0x" + data.hex(), "blockNumber": hex(block), "transactionHash": tx,
           "logIndex": hex(log_index), "removed": False}
    if block_ts is not None:
        log["blockTimestamp"] = hex(block_ts)
    return log


# ----------------------------------------------------------------------------- topics


def test_topic0_values_are_keccak_of_the_signatures():
    for topic, signature in c.SIGNATURES.items():
        assert topic == "0x" + keccak(text=signature).hex()


def test_v1_signatures_match_the_published_abi(pm_data):
    abi = orjson.loads((pm_data / "ctf_exchange_v1_events_abi.json").read_bytes())
    by_name = {e["name"]: e for e in abi}
    for name, sig in (("OrderFilled", c.SIG_V1_ORDER_FILLED),
                      ("OrdersMatched", c.SIG_V1_ORDERS_MATCHED)):
        types = ",".join(i["type"] for i in by_name[name]["inputs"])
        assert sig == f"{name}({types})"


# ----------------------------------------------------------------------------- the two real logs


def test_real_v2_log_decodes_to_sell_of_4_18_at_0_94(pm_chain_logs):
    fill = decode_log(pm_chain_logs[0], None)
    assert isinstance(fill, ChainFill)
    assert (fill.version, fill.maker, fill.taker, fill.side) == (2, V2_MAKER, V2_TAKER, "sell")
    assert (fill.maker_amount, fill.taker_amount) == (4_180_000, 3_929_200)
    assert (fill.price, fill.size, fill.token_id) == (0.94, 4.18, V2_TOKEN)
    assert (fill.block_number, fill.log_index, fill.block_ts) == (90840326, 0x215, 0x6A64696E)


def test_real_v1_log_decodes_to_buy_of_17_7_at_0_42(pm_chain_logs):
    fill = decode_log(pm_chain_logs[1], None)
    assert (fill.version, fill.maker, fill.taker, fill.side) == (1, V1_MAKER, V1_TAKER, "buy")
    assert (fill.maker_amount, fill.taker_amount, fill.fee) == (7_434_000, 17_700_000, 1_770_000)
    assert (fill.price, fill.size, fill.token_id) == (0.42, 17.7, V1_TOKEN)


def test_real_v1_log_agrees_with_web3_decoding_the_published_abi(pm_chain_logs, pm_data):
    from web3 import Web3

    abi = orjson.loads((pm_data / "ctf_exchange_v1_events_abi.json").read_bytes())
    contract = Web3().eth.contract(address=Web3.to_checksum_address(c.CTF_EXCHANGE_V1), abi=abi)
    raw = pm_chain_logs[1]
    from hexbytes import HexBytes
    web3_log = {**raw, "topics": [HexBytes(t) for t in raw["topics"]],
                "data": HexBytes(raw["data"]),
                "blockNumber": int(raw["blockNumber"], 16), "logIndex": int(raw["logIndex"], 16),
                "transactionIndex": int(raw["transactionIndex"], 16),
                "transactionHash": HexBytes(raw["transactionHash"]),
                "blockHash": HexBytes(raw["blockHash"]),
                "address": Web3.to_checksum_address(raw["address"])}
    args = contract.events.OrderFilled().process_log(web3_log)["args"]
    ours = decode_log(raw, None)
    assert args["maker"].lower() == ours.maker and args["taker"].lower() == ours.taker
    assert args["makerAssetId"] == 0 and str(args["takerAssetId"]) == ours.token_id
    assert (args["makerAmountFilled"], args["takerAmountFilled"], args["fee"]) == (
        ours.maker_amount, ours.taker_amount, ours.fee)
    # and a web3-formatted log decodes like the wire form
    assert decode_log(plain_log(web3_log), None) == ours


def test_real_logs_to_one_fill_per_wallet(pm_chain_logs):
    n = PolymarketNormalizer()
    maker, taker = n.normalize(pm_chain_logs[0], None)
    assert (maker.kind, maker.actor_id, maker.counterparty_id, maker.side, maker.aggressor) == (
        "order.filled", V2_MAKER, V2_TAKER, "sell", False)
    assert (taker.actor_id, taker.counterparty_id, taker.side, taker.aggressor) == (
        V2_TAKER, V2_MAKER, "buy", True)
    for ev in (maker, taker):
        assert (ev.market_id, ev.price, ev.size) == (V2_TOKEN, 0.94, 4.18)
        assert ev.ts == 0x6A64696E * S
        assert ev.tx_hash == pm_chain_logs[0]["transactionHash"]
        assert ev.extra["exchange"] == "v2" and ev.extra["block"] == 90840326
    assert maker.order_id == pm_chain_logs[0]["topics"][1]
    v1_maker, v1_taker = n.normalize(pm_chain_logs[1], None)
    assert (v1_maker.actor_id, v1_maker.side, v1_taker.actor_id, v1_taker.side) == (
        V1_MAKER, "buy", V1_TAKER, "sell")
    assert v1_maker.ts == 0x695E9F3D * S


# ----------------------------------------------------------------------------- fee vectors


def test_21_v2_fee_vectors_reproduce_price_and_fee(pm_load):
    vectors = pm_load("nautilus_chain_order_filled_taker_fees.json")
    assert len(vectors) == 21
    for v in vectors:
        side = 0 if v["side"] == "BUY" else 1
        exchange = c.NEG_RISK_CTF_EXCHANGE_V2 if v["exchange"] == "neg_risk" else c.CTF_EXCHANGE_V2
        m, t, fee = (int(v["maker_amount_filled"]), int(v["taker_amount_filled"]), int(v["fee"]))
        # upstream stripped wallets: these are taker legs (taker = the exchange)
        fill = decode_log(v2_log(maker=V2_MAKER, taker=exchange, side=side, token=7,
                                 maker_amount=m, taker_amount=t, fee=fee, exchange=exchange),
                          PolymarketNormalizer().state.exchanges)
        assert fill.price == float(v["price"]), v
        assert fill.is_aggregate_leg and fill.neg_risk == (v["exchange"] == "neg_risk")
        shares = t if side == 0 else m
        assert fill.size == shares / 1e6
        # fee = rate x shares x p x (1 - p), in collateral units (truncated to 1e-5)
        assert taker_fee_units(v["fee_rate"], shares, v["price"]) == fee, v
        assert taker_fee_units(v["fee_rate"], shares, Fraction(fill.price).limit_denominator(
            10_000)) == fee


# ------------------------------------------------------------------- legs, matches, dedupe


def test_taker_aggregate_leg_and_orders_matched_emit_nothing():
    n = PolymarketNormalizer()
    agg = v2_log(maker=V2_TAKER, taker=c.CTF_EXCHANGE_V2, side=0, token=7,
                 maker_amount=3_929_200, taker_amount=4_180_000)
    assert n.normalize(agg, None) == []
    matched = {"address": c.CTF_EXCHANGE_V2,
               "topics": [c.TOPIC_V2_ORDERS_MATCHED, "0x" + "02" * 32, _topic_addr(V2_TAKER)],
               "data": "0x" + encode(["uint8", "uint256", "uint256", "uint256"],
                                     [0, 7, 3_929_200, 4_180_000]).hex(),
               "blockNumber": "0x1", "transactionHash": "0x" + "11" * 32, "logIndex": "0x2"}
    assert isinstance(decode_log(matched, None), ChainMatch)
    assert n.normalize(matched, None) == []
    assert n.counters["chain_taker_aggregate_leg"] == 1
    assert n.counters["chain_orders_matched"] == 1


def test_duplicate_and_removed_logs(pm_chain_logs):
    n = PolymarketNormalizer()
    assert len(n.normalize(pm_chain_logs[0], None)) == 2
    assert n.normalize(dict(pm_chain_logs[0]), None) == []
    assert n.normalize(dict(pm_chain_logs[1], removed=True), None) == []
    assert (n.counters["duplicate_log"], n.counters["chain_removed_log"]) == (1, 1)


def test_block_time_from_a_timestamp_map_when_the_log_has_none(pm_chain_logs):
    log = {k: v for k, v in pm_chain_logs[0].items() if k != "blockTimestamp"}
    with pytest.raises(FrameError, match="blockTimestamp"):
        PolymarketNormalizer().normalize(log, None)
    n = PolymarketNormalizer(block_timestamps={90840326: 1_784_965_486})
    assert {e.ts for e in n.normalize(log, None)} == {1_784_965_486 * S}


def test_enrichment_attached_by_the_source_lands_in_extra(pm_chain_logs):
    log = dict(pm_chain_logs[0], _tx={"gasPrice": "0x6fc23ac00", "nonce": "0x2a",
                                      "from": "0xABCDEF0000000000000000000000000000000001"})
    evs = PolymarketNormalizer().normalize(log, None)
    assert {(e.extra["gas_price"], e.extra["nonce"], e.extra["tx_from"]) for e in evs} == {
        (30_000_000_000, 42, "0xabcdef0000000000000000000000000000000001")}


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d.update(topics=[]), "topics"),
    (lambda d: d.update(data="0x1234"), "data"),
    (lambda d: d.update(data="0x" + "zz" * 224), "data"),
    (lambda d: d.update(blockNumber="0xnothex"), "blockNumber"),
    (lambda d: d.update(topics=d["topics"][:2]), "topics"),
])
def test_malformed_logs_are_clear_rejects(pm_chain_logs, mutate, needle):
    log = dict(pm_chain_logs[0])
    mutate(log)
    with pytest.raises(FrameError) as info:
        PolymarketNormalizer().normalize(log, None)
    assert needle in str(info.value)


def test_other_events_of_the_exchange_are_ignored(pm_chain_logs):
    cancelled = {"address": c.CTF_EXCHANGE_V1,
                 "topics": ["0x" + keccak(text="OrderCancelled(bytes32)").hex(), "0x" + "03" * 32],
                 "data": "0x", "blockNumber": "0x1", "transactionHash": "0x" + "22" * 32,
                 "logIndex": "0x0"}
    n = PolymarketNormalizer()
    assert n.normalize(cancelled, None) == []
    assert n.counters["chain_other_event"] == 1


def test_tape_print_and_chain_fills_join_on_tx_hash_and_token(pm_chain_logs):
    """The same execution from the market channel and the chain shares market_id and tx_hash."""
    n = PolymarketNormalizer()
    log = pm_chain_logs[0]
    [tape] = n.normalize({"event_type": "last_trade_price", "asset_id": V2_TOKEN,
                          "market": "0x" + "ab" * 32, "price": "0.94", "side": "BUY",
                          "size": "4.18", "timestamp": str(0x6A64696E * 1000),
                          "transaction_hash": log["transactionHash"]}, None)
    fills = n.normalize(log, None)
    assert {(e.market_id, e.tx_hash) for e in fills} == {(tape.market_id, tape.tx_hash)}
    assert {e.extra["tape_ts"] for e in fills} == {tape.ts}  # joined to the print
    assert "tape_ts" not in PolymarketNormalizer().normalize(log, None)[0].extra
    # the tape's side is the taker's; so is the aggressor's fill side
    assert next(e for e in fills if e.aggressor).side == tape.side
