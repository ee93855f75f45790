"""Accounts, changed by an admin: create, deactivate or reactivate, set a password, a role, a display name.

Each operation checks that the actor is an admin, writes through the store and leaves one audit entry.
An admin cannot lock themselves out: they may not deactivate or demote their own account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor.errors import BadInput
from tutor.school.access import Actor, audit, require_admin

if TYPE_CHECKING:
    from tutor.store import Store, UserRecord

ROLES = ("student", "teacher", "admin")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput("choose a role: student, teacher or admin")


def create_user(store: Store, actor: Actor, name: str, role: str, *, password: str | None,
                display_name: str = "") -> UserRecord:
    """A new account; without a password it cannot sign in until one is set."""
    require_admin(actor)
    _check_role(role)
    user = store.create_user((name or "").strip(), role, password=password, display_name=(display_name or "").strip())
    audit(store, actor, "user.create", target_type="user", target_id=user.id, label=user.name, role=role)
    return user


def set_active(store: Store, actor: Actor, user_id: int, active: bool) -> UserRecord:
    """Allow or refuse sign-in (an inactive user's sessions and data stay)."""
    require_admin(actor)
    if user_id == actor.id and not active:
        raise BadInput("you cannot deactivate your own account")
    user = store.set_active(user_id, active)
    audit(store, actor, "user.activate" if active else "user.deactivate", target_type="user", target_id=user.id,
          label=user.name)
    return user


def set_password(store: Store, actor: Actor, user_id: int, password: str) -> UserRecord:
    """A new password (also lifts a sign-in lock); the audit entry never holds it."""
    require_admin(actor)
    user = store.set_password(user_id, password or "")
    audit(store, actor, "user.password", target_type="user", target_id=user.id, label=user.name)
    return user


def set_role(store: Store, actor: Actor, user_id: int, role: str) -> UserRecord:
    require_admin(actor)
    _check_role(role)
    if user_id == actor.id and role != "admin":
        raise BadInput("you cannot take the admin role from your own account")
    before = store.get_user(user_id)
    user = store.set_role(user_id, role)
    audit(store, actor, "user.role", target_type="user", target_id=user.id, label=user.name,
          before=before.role, after=role)
    return user


def set_display_name(store: Store, actor: Actor, user_id: int, display_name: str) -> UserRecord:
    require_admin(actor)
    user = store.set_display_name(user_id, (display_name or "").strip())
    # the new name is not in the entry: it may be a learner's real name, which must go when they are deleted
    audit(store, actor, "user.display_name", target_type="user", target_id=user.id, label=user.name)
    return user
