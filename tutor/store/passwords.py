"""argon2id password hashes. A hash made with older parameters is upgraded on the next good sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tutor.errors import BadInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 would take anything; a megabyte "password" is an attack, not a secret


def make_hasher(time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def check_password_rules(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(hasher: PasswordHasher, password: str) -> str:
    check_password_rules(password)
    return hasher.hash(password)


def verify(hasher: PasswordHasher, stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; False for a wrong password, a missing or a corrupt hash."""
    if not stored_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
