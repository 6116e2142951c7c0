"""The office's key for the residents' register: ID-card numbers and phones are sealed (AES-256-GCM) before
they reach the database, and found again by a keyed hash (HMAC-SHA-256), so a copy of the database, a
backup or a look over a DBA's shoulder yields neither.

The key is a file the office holds outside the database (``WANGGE_RESIDENT_KEY_FILE``, by default
``var/keys/residents.key``): 32 random bytes, made with mode 0600 the first time the register needs it.
Two keys are derived from it (HKDF), one to seal and one to hash, so neither use weakens the other. Losing
the file loses the sealed values: back it up apart from the database backups.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import ServerFault
from geo.settings import get_settings

KEY_BYTES = 32
NONCE_BYTES = 12


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"wangge residents " + purpose).derive(
        secret
    )


class ResidentKey:
    """Seal and open one field's value; hash an ID-card number for lookups."""

    def __init__(self, secret: bytes):
        if len(secret) != KEY_BYTES:
            raise ServerFault(f"the residents' key must be {KEY_BYTES} bytes, not {len(secret)}")
        self._aead = AESGCM(_derive(secret, b"seal"))
        self._mac = _derive(secret, b"lookup")

    def seal(self, field: str, value: str | None) -> bytes | None:
        """``value`` encrypted with a fresh nonce; the field's name is bound in, so a phone cannot be pasted
        into an ID-number column and opened as one."""
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode("utf-8"), field.encode())

    def open(self, field: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        try:
            plain = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], field.encode())
        except InvalidTag:
            raise ServerFault(
                "a sealed register value does not open with this key: is WANGGE_RESIDENT_KEY_FILE the "
                "office's key?"
            ) from None
        return plain.decode("utf-8")

    def lookup(self, id_number: str | None) -> bytes | None:
        """The keyed hash an ID-card number is found by (equal numbers, equal hashes; nothing else leaks)."""
        if id_number is None:
            return None
        return hmac.new(self._mac, id_number.upper().encode(), hashlib.sha256).digest()


def _read_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, or by a second process a moment ago: read it
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(KEY_BYTES))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServerFault(
            f"the residents' key {path} is readable by others (mode {oct(mode & 0o777)}): chmod 600"
        )
    return path.read_bytes()


@lru_cache(maxsize=4)
def _key_at(path: str) -> ResidentKey:
    return ResidentKey(_read_or_create(Path(path)))


def resident_key() -> ResidentKey:
    """The key at the configured file, made on first use (read once per process and file)."""
    return _key_at(str(get_settings().resident_key_file))
