"""Reference episodes: the smallest event sequences that make each built-in
detector fire with its default config.

They document, as runnable code, the event pattern each detector needs, and
serve tests, demos and synthetic feed generators. Each function writes one
episode into a :class:`~.scripting.Script` starting at ``t_ms`` (milliseconds
after the script's t0) in market ``market`` and returns the time it ends.
Actor names are parameters so that a generator can plant several.
"""

from __future__ import annotations

from .scripting import Script


def spoofing(s: Script, *, market: str, t_ms: float, actor: str = "spoofer") -> float:
    """Bait 5000 on the bid (10x the 500 min, 25x the execution), a 200 sell
    execution while it rests, bait cancelled after 900 ms (< 2000)."""
    s.at(t_ms).snapshot([(0.49, 300.0), (0.48, 300.0)], [(0.51, 300.0), (0.52, 300.0)],
                        market=market)
    s.at(t_ms + 10).place(actor, f"{actor}-bait-{t_ms:g}", "buy", 0.48, 5000, market=market)
    s.at(t_ms + 300).place(actor, f"{actor}-ask-{t_ms:g}", "sell", 0.51, 200, market=market)
    s.at(t_ms + 400).execute(taker=f"{actor}-victim", maker=actor,
                             maker_oid=f"{actor}-ask-{t_ms:g}", side="buy", price=0.51,
                             size=200, market=market)
    s.at(t_ms + 910).cancel(f"{actor}-bait-{t_ms:g}")
    return t_ms + 910


def layering(s: Script, *, market: str, t_ms: float, actor: str = "layerer") -> float:
    """A genuine 100 offer; 3 bids of 400 at 0.49/0.48/0.47 placed 1 s before it is
    lifted (12x its size); all three cancelled within 800 ms of the execution.

    Layers of 500 or more would each also be a spoofing bait (default
    ``min_bait_size``) and the episode would fire both detectors: layering is a
    form of spoofing, and both findings would be true.
    """
    tag = f"{actor}-{t_ms:g}"
    s.at(t_ms).place(actor, f"{tag}-genuine", "sell", 0.52, 100, market=market)
    s.at(t_ms + 1000)
    for i in range(3):
        s.place(actor, f"{tag}-L{i}", "buy", round(0.49 - 0.01 * i, 2), 400, market=market)
    s.at(t_ms + 2000).execute(taker=f"{actor}-victim", maker=actor,
                              maker_oid=f"{tag}-genuine", side="buy", price=0.52, size=100,
                              market=market)
    for i in range(3):
        s.at(t_ms + 2200 + 300 * i).cancel(f"{tag}-L{i}")
    return t_ms + 2800


def quote_stuffing(s: Script, *, market: str, t_ms: float, actor: str = "stuffer") -> float:
    """60 s of one place/cancel pair a second (the baseline: 2 messages per 1 s
    window), then 150 place/cancel pairs in 900 ms with no executions."""
    n = 0
    for sec in range(60):
        s.at(t_ms + sec * 1000).place(actor, f"{actor}-q{t_ms:g}-{n}", "buy", 0.40, 10,
                                      market=market)
        s.at(t_ms + sec * 1000 + 1).cancel(f"{actor}-q{t_ms:g}-{n}")
        n += 1
    t0 = t_ms + 60_500
    for i in range(150):
        t = t0 + i * 6
        s.at(t).place(actor, f"{actor}-s{t_ms:g}-{i}", "buy", 0.40, 10, market=market)
        s.at(t + 0.5).cancel(f"{actor}-s{t_ms:g}-{i}")
    return t0 + 900


def wash_trade(s: Script, *, market: str, t_ms: float, actor: str = "washer",
               partner: str = "washer-2") -> float:
    """Two wallets trade 200 back and forth 10 times, 10 s apart, with nobody
    else: 2000 traded, net zero. Confirmed 300 s after it first passes (or at
    the end of the feed)."""
    t = t_ms
    for i in range(10):
        buyer, seller = (actor, partner) if i % 2 == 0 else (partner, actor)
        s.at(t).execute(taker=buyer, maker=seller, side="buy", price=0.50, size=200,
                        market=market)
        t += 10_000
    return t


def self_trade(s: Script, *, market: str, t_ms: float, actor: str = "self-trader") -> float:
    """One execution with the same actor on both sides."""
    s.at(t_ms).execute(taker=actor, maker=actor, side="buy", price=0.5, size=100, market=market)
    return t_ms


def momentum_ignition(s: Script, *, market: str, t_ms: float, actor: str = "igniter") -> float:
    """Trading at 0.50, then four aggressive buys of 50 within 2.4 s lifting the
    price to 0.515 (+3%), then a 150 sell into the move at 0.512 after 7.6 s."""
    for i in range(5):
        s.at(t_ms + i * 1000).execute(taker=f"{actor}-noise", maker=f"{actor}-mm", side="buy",
                                      price=0.50, size=10, market=market)
    t = t_ms + 10_000
    for i, p in enumerate((0.500, 0.505, 0.510, 0.515)):
        s.at(t + i * 800).execute(taker=actor, taker_oid=f"{actor}-b{t_ms:g}-{i}",
                                  maker=f"{actor}-mm", side="buy", price=p, size=50,
                                  market=market)
    s.at(t + 10_000).execute(taker=f"{actor}-follower", maker=actor,
                             maker_oid=f"{actor}-s{t_ms:g}", side="buy", price=0.512, size=150,
                             market=market)
    return t + 10_000


def iceberg(s: Script, *, market: str, t_ms: float) -> float:
    """An offer showing 100 at 0.52 lifted by prints of 100 and refilled to 100,
    three times (300 executed, 2 refills). Anonymous: book and tape only."""
    s.at(t_ms).snapshot([(0.50, 300.0)], [(0.52, 100.0), (0.53, 400.0)], market=market)
    t = t_ms + 1000
    for _ in range(3):
        s.at(t).tape(0.52, 100, "buy", market=market)
        s.at(t + 10).delta("sell", 0.52, 0.0, market=market)
        s.at(t + 200).delta("sell", 0.52, 100.0, market=market)
        t += 2000
    return t


def split_order(s: Script, *, market: str, t_ms: float, actor: str = "splitter") -> float:
    """Ten aggressive buys of 90..110 (1000 in all), 20 s apart, nothing sold."""
    t = t_ms
    for i in range(10):
        s.at(t).execute(taker=actor, taker_oid=f"{actor}-c{t_ms:g}-{i}",
                        maker=f"{actor}-mm{i % 3}", side="buy",
                        price=0.50 + 0.001 * i, size=(95.0, 100.0, 105.0, 110.0, 90.0)[i % 5],
                        market=market)
        t += 20_000
    return t - 20_000


#: category -> episode writer, for looping in tests and demos.
EPISODES = {
    "spoofing": spoofing,
    "layering": layering,
    "quote_stuffing": quote_stuffing,
    "wash_trade": wash_trade,
    "momentum_ignition": momentum_ignition,
    "iceberg": iceberg,
    "split_order": split_order,
}
