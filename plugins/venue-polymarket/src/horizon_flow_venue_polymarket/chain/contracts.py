"""CTF Exchange contracts on Polygon: addresses, event signatures and topic0 values.

The topic0 values are keccak-256 of the signatures below; they are written out
so decoding needs no crypto library, and a test recomputes them with
``eth_utils.keccak``.
"""

from __future__ import annotations

from typing import Final

import attrs

CHAIN_ID: Final = 137

# V1 (py-clob-client config) and V2 (since 2026-04-28), each with a neg-risk twin.
CTF_EXCHANGE_V1: Final = "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e"
NEG_RISK_CTF_EXCHANGE_V1: Final = "0xc5d563a36ae78145c45a50134d48a1215220f80a"
CTF_EXCHANGE_V2: Final = "0xe111180000d2663c0091e4f400237545b87b996b"
NEG_RISK_CTF_EXCHANGE_V2: Final = "0xe2222d279d744050d28e00520010520000310f59"

SIG_V1_ORDER_FILLED: Final = (
    "OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)")
SIG_V1_ORDERS_MATCHED: Final = "OrdersMatched(bytes32,address,uint256,uint256,uint256,uint256)"
SIG_V2_ORDER_FILLED: Final = (
    "OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)")
SIG_V2_ORDERS_MATCHED: Final = "OrdersMatched(bytes32,address,uint8,uint256,uint256,uint256)"

TOPIC_V1_ORDER_FILLED: Final = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"
TOPIC_V1_ORDERS_MATCHED: Final = (
    "0x63bf4d16b7fa898ef4c4b2b6d90fd201e9c56313b65638af6088d149d2ce956c")
TOPIC_V2_ORDER_FILLED: Final = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
TOPIC_V2_ORDERS_MATCHED: Final = (
    "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c")

SIGNATURES: Final[dict[str, str]] = {
    TOPIC_V1_ORDER_FILLED: SIG_V1_ORDER_FILLED,
    TOPIC_V1_ORDERS_MATCHED: SIG_V1_ORDERS_MATCHED,
    TOPIC_V2_ORDER_FILLED: SIG_V2_ORDER_FILLED,
    TOPIC_V2_ORDERS_MATCHED: SIG_V2_ORDERS_MATCHED,
}

#: The topic0 filter for ``eth_getLogs`` / ``eth_subscribe``: every event we decode.
TOPICS: Final[tuple[str, ...]] = tuple(SIGNATURES)


@attrs.frozen
class Exchange:
    address: str  #: lower-case hex
    version: int  #: 1 or 2
    neg_risk: bool

    @property
    def label(self) -> str:
        return f"{'neg_risk_' if self.neg_risk else ''}v{self.version}"


DEFAULT_EXCHANGES: Final[tuple[Exchange, ...]] = (
    Exchange(CTF_EXCHANGE_V1, 1, False),
    Exchange(NEG_RISK_CTF_EXCHANGE_V1, 1, True),
    Exchange(CTF_EXCHANGE_V2, 2, False),
    Exchange(NEG_RISK_CTF_EXCHANGE_V2, 2, True),
)


def exchanges_from_addresses(v1: tuple[str, ...], v2: tuple[str, ...],
                             neg_risk: tuple[str, ...] = ()) -> dict[str, Exchange]:
    """Address -> :class:`Exchange` for configured address lists (lower-cased)."""
    nr = {a.lower() for a in neg_risk}
    out: dict[str, Exchange] = {}
    for version, addresses in ((1, v1), (2, v2)):
        for address in addresses:
            a = address.lower()
            out[a] = Exchange(a, version, a in nr)
    return out
