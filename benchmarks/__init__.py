"""horizon-flow's benchmark suite: ``python benchmarks/run.py [--quick] [--json out.json]``.

Modules: :mod:`.feeds` (seeded synthetic feeds, cached), :mod:`.pipeline`
(the measured default pipeline), :mod:`.throughput` (the headline ratio),
:mod:`.latency` (live mode), :mod:`.memory` (peak memory as markets and
actors grow, and under churn), :mod:`.storm` (store under a finding storm),
:mod:`.detector_cost` (each component's own cost), :mod:`.identity` (digests
that show an optimization changed nothing).
"""
