"""Decode raw CTF Exchange logs (``eth_getLogs`` results) into typed fills.

Pure Python on purpose: every field of these events is a static 32-byte word
(``uint256``, ``uint8``, ``bytes32``, ``address``), so decoding is slicing, and
the plugin can decode recorded logs offline without web3. Logs may come as
JSON-RPC dicts (hex strings) or as web3's formatted ``LogReceipt`` (HexBytes,
ints); :func:`plain_log` turns the latter into the former.

Price and side follow VENUES.md 1.4 with integer arithmetic:

* V1: ``makerAssetId == 0`` -> the maker BUYs ``takerAssetId`` at
  ``makerAmount / takerAmount`` for ``takerAmount / 1e6`` shares; otherwise the
  maker SELLs ``makerAssetId`` at ``takerAmount / makerAmount`` for
  ``makerAmount / 1e6`` shares.
* V2: ``side`` (0 BUY, 1 SELL) is the maker order's side on ``tokenId``; BUY
  pays ``makerAmount`` collateral for ``takerAmount`` shares, SELL the reverse.

The price is the exact ratio rounded half-even to 4 decimals (Polymarket's
finest tick is 0.0001), so 5000000/7575758 gives 0.66, not 0.65999996.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from horizon_flow_core.errors import FrameError, preview

from . import contracts as c
from .contracts import Exchange

PRICE_DECIMALS = 4
AMOUNT_SCALE = 10**6  # collateral and outcome tokens both have 6 decimals


@attrs.frozen
class ChainFill:
    """One ``OrderFilled`` log: the order of ``maker`` was filled against ``taker``."""

    exchange: str  #: contract address, lower case
    version: int
    neg_risk: bool | None
    order_hash: str
    maker: str  #: lower-case address
    taker: str  #: lower-case address (the exchange itself on the taker's aggregate leg)
    side: str  #: the maker order's side: "buy" / "sell"
    token_id: str  #: outcome token (decimal string)
    maker_amount: int
    taker_amount: int
    fee: int
    price: float
    size: float
    block_number: int
    tx_hash: str
    log_index: int
    block_ts: int | None  #: seconds, when the log carries ``blockTimestamp``
    builder: str | None = None
    metadata: str | None = None

    @property
    def is_aggregate_leg(self) -> bool:
        """The taker order's own log, whose counterparty is the exchange contract."""
        return self.taker == self.exchange

    @property
    def exchange_label(self) -> str:
        if self.neg_risk is None:
            return f"v{self.version}"
        return f"{'neg_risk_' if self.neg_risk else ''}v{self.version}"


@attrs.frozen
class ChainMatch:
    """One ``OrdersMatched`` log (a summary of the taker side; never counted as volume)."""

    exchange: str
    version: int
    taker_order_hash: str
    taker_order_maker: str
    block_number: int
    tx_hash: str
    log_index: int


def _hex(value: Any) -> str:
    """A hex string from a JSON-RPC hex string, bytes or HexBytes."""
    if isinstance(value, str):
        return value.lower() if value.startswith(("0x", "0X")) else "0x" + value.lower()
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    raise TypeError(f"expected hex, got {type(value).__name__}")


_INT64_MAX = 2**63 - 1


def uint_field(value: Any, field: str) -> int:
    """A non-negative integer (block number, log index, block time...) below 2**63,
    from an int or a hex / decimal string."""
    if type(value) is int:
        out = value
    elif isinstance(value, str):
        try:
            out = int(value, 16) if value.startswith(("0x", "0X")) else int(value)
        except ValueError:
            raise FrameError(f"not an integer: {preview(value)}", field=field) from None
    else:
        raise FrameError(f"expected an integer, got {type(value).__name__}", field=field)
    if 0 <= out <= _INT64_MAX:
        return out
    raise FrameError(f"integer out of range: {preview(value)}", field=field)


def _hex_field(value: Any, field: str) -> str:
    """:func:`_hex` of a log field, naming the field when it is not hex text."""
    try:
        return _hex(value)
    except TypeError as exc:
        raise FrameError(str(exc), field=field) from None


def plain_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """A log as the JSON-RPC node sends it: hex strings throughout, keys in camelCase.

    Accepts web3's formatted ``LogReceipt`` (HexBytes, ints, checksummed
    addresses) and returns the wire form, which is what gets recorded so a
    replay decodes the same bytes.
    """
    out: dict[str, Any] = {}
    for key, value in log.items():
        if key == "topics":
            out[key] = [_hex(t) for t in value]
        elif key in ("data", "transactionHash", "blockHash"):
            out[key] = _hex(value)
        elif key == "address":
            out[key] = str(value).lower()
        elif key in ("blockNumber", "logIndex", "transactionIndex", "blockTimestamp"):
            out[key] = hex(value) if type(value) is int else value
        elif isinstance(value, (bytes, bytearray)):
            out[key] = _hex(value)
        else:
            out[key] = value
    return out


def _words(data: str, count: int) -> list[int]:
    body = data[2:] if data.startswith(("0x", "0X")) else data
    if len(body) < 64 * count:
        raise FrameError(f"{len(body) // 2} bytes of data, event needs {32 * count}",
                         field="data")
    try:
        return [int(body[i * 64:(i + 1) * 64], 16) for i in range(count)]
    except ValueError:
        raise FrameError("data is not hex", field="data") from None


def _address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


_PRICE_SCALE: int = 10**PRICE_DECIMALS


def _price(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` rounded half-even to 4 decimals, in integers."""
    if denominator == 0 or numerator == 0:
        raise FrameError("zero amount filled; no price", field="data")
    q, r = divmod(numerator * _PRICE_SCALE, denominator)
    if 2 * r > denominator or (2 * r == denominator and q & 1):
        q += 1
    return q / _PRICE_SCALE  # int / int: the correctly rounded float


def log_key(log: Mapping[str, Any]) -> tuple[str, int]:
    """(transaction hash, log index): the identity of a log, for dedupe."""
    return (_hex(log.get("transactionHash") or "0x"),
            uint_field(log.get("logIndex", 0), "logIndex"))


def decode_log(log: Mapping[str, Any], exchanges: Mapping[str, Exchange] | None = None
               ) -> ChainFill | ChainMatch | None:
    """Decode one raw log. Returns None for a log of another event.

    ``exchanges`` maps contract address to :class:`Exchange`; an address not
    in it is still decoded (the version comes from the topic) but the neg-risk
    flag is then unknown. Raises :class:`FrameError` naming the field for
    malformed logs.
    """
    topics_raw = log.get("topics")
    if not isinstance(topics_raw, (list, tuple)) or not topics_raw:
        raise FrameError("missing or empty", field="topics")
    topics = [_hex_field(t, "topics") for t in topics_raw]
    address_raw = log.get("address") or ""
    if type(address_raw) is not str:
        raise FrameError(f"expected a hex string, got {type(address_raw).__name__}",
                         field="address")
    address = address_raw.lower()
    data = _hex_field(log.get("data") or "0x", "data")
    tx_hash = _hex_field(log.get("transactionHash") or "", "transactionHash")
    topic0 = topics[0]
    if topic0 not in c.SIGNATURES:
        return None
    if not address:
        raise FrameError("missing", field="address")
    raw_block, raw_index = log.get("blockNumber"), log.get("logIndex")
    block_number = uint_field(raw_block, "blockNumber") if raw_block is not None else -1
    log_index = uint_field(raw_index, "logIndex") if raw_index is not None else -1
    ts_raw = log.get("blockTimestamp")
    block_ts = uint_field(ts_raw, "blockTimestamp") if ts_raw is not None else None
    known = (exchanges or {}).get(address)
    neg_risk = known.neg_risk if known is not None else None

    if topic0 in (c.TOPIC_V1_ORDERS_MATCHED, c.TOPIC_V2_ORDERS_MATCHED):
        if len(topics) < 3:
            raise FrameError(f"{len(topics)} topics, OrdersMatched has 3", field="topics")
        return ChainMatch(address, 1 if topic0 == c.TOPIC_V1_ORDERS_MATCHED else 2, topics[1],
                          _address(topics[2]), block_number, tx_hash, log_index)

    if len(topics) < 4:
        raise FrameError(f"{len(topics)} topics, OrderFilled has 4", field="topics")
    order_hash, maker, taker = topics[1], _address(topics[2]), _address(topics[3])
    builder = metadata = None
    if topic0 == c.TOPIC_V1_ORDER_FILLED:
        version = 1
        maker_asset, taker_asset, maker_amount, taker_amount, fee = _words(data, 5)
        if maker_asset == 0 and taker_asset != 0:
            side, token = "buy", taker_asset
        elif maker_asset != 0 and taker_asset == 0:
            side, token = "sell", maker_asset
        else:
            raise FrameError("neither or both asset ids are collateral (0)", field="data")
    else:
        version = 2
        side_code, token, maker_amount, taker_amount, fee, b, m = _words(data, 7)
        if side_code not in (0, 1):
            raise FrameError(f"side {side_code} is neither 0 (BUY) nor 1 (SELL)", field="data")
        side = "buy" if side_code == 0 else "sell"
        builder, metadata = f"0x{b:064x}", f"0x{m:064x}"
    if side == "buy":  # maker pays collateral (makerAmount) for shares (takerAmount)
        price, shares = _price(maker_amount, taker_amount), taker_amount
    else:  # maker gives shares (makerAmount) for collateral (takerAmount)
        price, shares = _price(taker_amount, maker_amount), maker_amount
    return ChainFill(
        exchange=address, version=version, neg_risk=neg_risk, order_hash=order_hash,
        maker=maker, taker=taker, side=side, token_id=str(token), maker_amount=maker_amount,
        taker_amount=taker_amount, fee=fee, price=price, size=shares / AMOUNT_SCALE,
        block_number=block_number, tx_hash=tx_hash, log_index=log_index, block_ts=block_ts,
        builder=builder, metadata=metadata)


def taker_fee_units(rate: Fraction | float | str, shares_units: int, price: Fraction | float | str
                    ) -> int:
    """The V2 taker fee in collateral micro-units: ``rate x shares x p x (1 - p)``.

    All 21 real V2 vectors (nautilus ``chain_order_filled_taker_fees``) fit
    this formula truncated to 1e-5 collateral (10 micro-units), computed
    exactly in rationals.
    """
    r = Fraction(str(rate)) if not isinstance(rate, Fraction) else rate
    p = Fraction(str(price)) if not isinstance(price, Fraction) else price
    exact = r * shares_units * p * (1 - p)
    return (exact.numerator // exact.denominator) // 10 * 10
