"""Password hashing with Argon2id (argon2-cffi).

Why Argon2id: it is memory-hard (an attacker's GPU or ASIC pays in memory for every guess, not only
in time), it won the Password Hashing Competition, and it is the first choice of RFC 9106 and of
OWASP's password storage guidance. ``hashlib.scrypt`` is memory-hard too, but leaves salt, parameter
encoding and upgrades to us; argon2-cffi stores all three in the hash string and tells us when a
stored hash uses weaker parameters than today's (``needs_rehash``), so logins upgrade old hashes.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crmkit.errors import ValidationError

# argon2-cffi's defaults follow RFC 9106's low-memory recommendation (64 MiB, 3 passes).
_hasher = PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bounded: hashing a megabyte-long "password" is a cheap denial of service


def check_strength(password: str) -> None:
    """Length is the rule that matters (NIST SP 800-63B); no composition rules."""
    if len(password) < MIN_LENGTH:
        raise ValidationError({"password": f"Use at least {MIN_LENGTH} characters."})
    if len(password) > MAX_LENGTH:
        raise ValidationError({"password": f"Use at most {MAX_LENGTH} characters."})


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for no hash, a wrong password or a damaged hash."""
    if not stored_hash or len(password) > MAX_LENGTH:
        # Spend the same time as a real check so a missing account is not told apart by timing.
        _hasher.hash("timing-equaliser")
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
