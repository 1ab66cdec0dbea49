"""Polygon CTF Exchange logs: decoding (offline, no web3) and RPC sources (web3, lazy)."""
