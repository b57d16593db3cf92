"""Pseudonymous keys: a keyed HMAC of a person's source ID.

key = hex(HMAC-SHA256(secret, source ID as UTF-8))[:32]

The secret comes from `KONTINGENT_PSEUDONYM_KEY` or the file `KONTINGENT_PSEUDONYM_KEY_FILE`
(default `.local/pseudonym.key`, outside git). Without it nothing is loaded: a warehouse whose
keys were made with a lost or changed secret could never be joined again.
"""

from __future__ import annotations

import hashlib
import hmac

KEY_HEX_CHARS = 32


class PseudonymKeyMissing(RuntimeError):
    """Neither the environment variable nor the key file supplies the secret."""


def load_secret(settings=None) -> bytes:
    from kontingent.settings import get_settings

    settings = settings or get_settings()
    value = settings.env.get("KONTINGENT_PSEUDONYM_KEY", "").strip()
    if value:
        return value.encode()
    path = settings.pseudonym_key_file
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value.encode()
    raise PseudonymKeyMissing(
        "no pseudonymization key: set KONTINGENT_PSEUDONYM_KEY or create the key file "
        f"{path} (`kontingent keys` makes one for a demo). Nothing was loaded."
    )


class Pseudonymizer:
    """Maps source IDs to pseudonymous keys (with a bounded cache: IDs repeat a lot; about
    220 bytes an entry, so the default bound keeps it under 50 MiB whatever the region).

    The HMAC's inner and outer hash states are keyed once (RFC 2104) and copied per ID, which
    gives the same keys as `pseudonym()` at less than half the cost."""

    def __init__(self, secret: bytes, cache_limit: int = 200_000) -> None:
        self._secret = secret
        self._cache: dict[str, str] = {}
        self._limit = cache_limit
        block = hashlib.sha256().block_size
        key = hashlib.sha256(secret).digest() if len(secret) > block else secret
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def __call__(self, source_id: str) -> str:
        key = self._cache.get(source_id)
        if key is None:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            inner = self._inner()
            inner.update(source_id.encode())
            outer = self._outer()
            outer.update(inner.digest())
            key = outer.hexdigest()[:KEY_HEX_CHARS]
            self._cache[source_id] = key
        return key


def pseudonym(secret: bytes, source_id: str) -> str:
    return hmac.digest(secret, source_id.encode(), hashlib.sha256).hex()[:KEY_HEX_CHARS]
