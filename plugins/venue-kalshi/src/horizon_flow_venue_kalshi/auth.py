"""Kalshi request signing: RSA-PSS-SHA256 over ``timestamp_ms + METHOD + path``.

The key id and the PEM private key's path come only from environment
variables (``KALSHI_API_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH`` by
default). Neither the key nor the signature is ever logged.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from horizon_flow_core.errors import FlowError

from .config import KalshiConfig

HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"


class KalshiAuthError(FlowError):
    """Kalshi credentials are missing or unreadable, or the venue refused them."""

    exit_code = 3


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class KalshiSigner:
    """Signs requests with one API key. Build it with :meth:`from_env`."""

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        self.key_id = key_id
        self._key = private_key

    def __repr__(self) -> str:  # never show the key
        return f"KalshiSigner(key_id={self.key_id[:4]}...)"

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes, *, source: str = "private key") -> KalshiSigner:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # the message of these errors never contains key material
            raise KalshiAuthError(f"kalshi: cannot read {source} as an unencrypted PEM "
                                  f"private key ({type(exc).__name__})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KalshiAuthError(f"kalshi: {source} is not an RSA private key")
        return cls(key_id, key)

    @classmethod
    def from_env(cls, config: KalshiConfig | None = None,
                 environ: Mapping[str, str] | None = None) -> KalshiSigner:
        """The signer named by the environment; :class:`KalshiAuthError` when it is incomplete."""
        config = config or KalshiConfig()
        env = os.environ if environ is None else environ
        key_id = env.get(config.key_id_env, "").strip()
        key_path = env.get(config.private_key_path_env, "").strip()
        if not key_id:
            raise KalshiAuthError(f"kalshi: environment variable {config.key_id_env} "
                                  "(the API key id) is not set")
        if not key_path:
            raise KalshiAuthError(f"kalshi: environment variable {config.private_key_path_env} "
                                  "(path of the PEM private key) is not set")
        path = Path(key_path).expanduser()
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KalshiAuthError(f"kalshi: cannot read private key file {path} named by "
                                  f"{config.private_key_path_env}: {exc.strerror}") from None
        return cls.from_pem(key_id, pem, source=f"private key file {path}")

    @staticmethod
    def available(config: KalshiConfig | None = None,
                  environ: Mapping[str, str] | None = None) -> bool:
        """Whether the environment names a key at all (it may still be unreadable)."""
        config = config or KalshiConfig()
        env = os.environ if environ is None else environ
        return bool(env.get(config.key_id_env) or env.get(config.private_key_path_env))

    def sign(self, timestamp_ms: int, method: str, path: str) -> str:
        """Base64 RSA-PSS-SHA256 signature of ``timestamp_ms + method + path``.

        ``path`` is the URL path without its query string.
        """
        message = f"{timestamp_ms}{method.upper()}{path}".encode()
        signature = self._key.sign(message, _pss(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, timestamp_ms: int, method: str, path: str) -> dict[str, str]:
        """The three handshake/request headers."""
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: str(timestamp_ms),
            HEADER_SIGNATURE: self.sign(timestamp_ms, method, path),
        }


def verify_signature(public_key: rsa.RSAPublicKey, timestamp_ms: str, method: str, path: str,
                     signature_b64: str) -> bool:
    """Check a signature as the venue does (used by tests and by ``flow`` diagnostics)."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True),
                          f"{timestamp_ms}{method.upper()}{path}".encode(), _pss(),
                          hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


__all__ = ["HEADER_KEY", "HEADER_SIGNATURE", "HEADER_TIMESTAMP", "KalshiAuthError",
           "KalshiSigner", "verify_signature"]
