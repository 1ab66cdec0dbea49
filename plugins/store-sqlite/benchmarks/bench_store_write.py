"""Flow-store write throughput and flush latency; see horizon_flow_store_sqlite.bench.

Run: /work/venv/bin/python plugins/store-sqlite/benchmarks/bench_store_write.py --n 100000
"""

from horizon_flow_store_sqlite.bench import main

if __name__ == "__main__":
    main()
