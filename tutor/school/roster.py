"""Class rosters as CSV: one student per row, enrolled in a class (accounts created when missing).

Used by the admin page's roster upload and by `mathtutor admin roster`, so both behave the same.
The whole file is checked before anything is written: a roster with a bad row changes nothing and
the error names every bad row.

Columns (header row required, case-insensitive): `username` (or `user`, `login`); optional
`display_name` (or `display name`, `full name`, `name`) and `password`. A new account without a
password gets a random one, returned once in the results.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tutor.errors import BadInput
from tutor.school.access import Actor, audit, require_admin

if TYPE_CHECKING:
    from tutor.store import Store

MAX_ROWS = 2000
MAX_BYTES = 1_000_000
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")  # the store's rule for user names
_COLUMNS = {
    "username": ("username", "user", "login", "user name", "user_name"),
    "display_name": ("display_name", "display name", "full name", "full_name", "name"),
    "password": ("password",),
}


@dataclass(frozen=True)
class RosterEntry:
    row: int               # line in the file (the header is line 1)
    name: str
    display_name: str
    password: str | None


@dataclass(frozen=True)
class RosterResult:
    row: int
    name: str
    status: str            # created | enrolled | already enrolled
    password: str | None   # a generated password, shown once; None when the file gave one or the account existed


def parse_roster(text: str | bytes, store: Store | None = None) -> list[RosterEntry]:
    """Read a roster; BadInput naming every problem (missing column, bad name, duplicate, short password)."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise BadInput(f"the roster file is larger than {MAX_BYTES // 1000} kB")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput("the roster file is not UTF-8 text (save it as CSV UTF-8)") from None
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise BadInput("the roster file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise BadInput("the roster file has no header row") from None
    index: dict[str, int] = {}
    for key, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in header and header.index(alias) not in index.values():
                index[key] = header.index(alias)
                break
    if "username" not in index:
        raise BadInput("the roster needs a `username` column (optional: display_name, password); "
                       f"found: {', '.join(header) or 'nothing'}")
    entries: list[RosterEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue

            def cell(key: str) -> str:
                i = index.get(key)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            name = cell("username")
            password = cell("password") or None
            if not _NAME_RE.match(name):
                problems.append(f"line {line}: {name!r} is not a valid user name (letters, digits, . _ @ -)")
            elif name.lower() in seen:
                problems.append(f"line {line}: {name} is already on line {seen[name.lower()]}")
            else:
                seen[name.lower()] = line
            if password is not None and len(password) < 8:
                problems.append(f"line {line}: the password for {name} is shorter than 8 characters")
            if len(cell("display_name")) > 128:
                problems.append(f"line {line}: the display name is longer than 128 characters")
            entries.append(RosterEntry(line, name, cell("display_name"), password))
            if len(entries) > MAX_ROWS:
                raise BadInput(f"a roster may have at most {MAX_ROWS} students")
    except csv.Error as exc:
        raise BadInput(f"the roster is not valid CSV: {exc}") from None
    if store is not None:
        # accounts that exist but are not students, in the same report as the file's own mistakes, so the
        # admin fixes everything in one pass
        problems += _role_problems(store, [e for e in entries if e.name.lower() in seen])
        problems.sort(key=lambda p: int(p.split(":", 1)[0].split()[-1]))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise BadInput(f"nothing was changed — fix the roster first: {shown}")
    if not entries:
        raise BadInput("the roster has a header but no students")
    return entries


def _role_problems(store: Store, entries: list[RosterEntry]) -> list[str]:
    problems = []
    for e in entries:
        user = store.user_by_name(e.name)
        if user is not None and user.role != "student":
            problems.append(f"line {e.row}: {e.name} is a {user.role}, not a student")
    return problems


def check_roster(store: Store, entries: list[RosterEntry]) -> None:
    """Existing accounts on the roster must be students (a teacher is not enrolled by accident)."""
    problems = _role_problems(store, entries)
    if problems:
        raise BadInput("nothing was changed — " + "; ".join(problems[:10]))


def apply_roster(store: Store, actor: Actor, class_id: int, entries: list[RosterEntry]) -> list[RosterResult]:
    """Create missing student accounts and enroll everyone in the class (an admin's operation); one
    audit entry per account created and one for the enrolment."""
    require_admin(actor)
    cls = store.get_class(class_id)
    check_roster(store, entries)
    results = []
    for e in entries:
        user = store.user_by_name(e.name)
        generated = None
        status = "enrolled"
        if user is None:
            password = e.password
            if password is None:
                password = generated = secrets.token_urlsafe(9)
            user = store.create_user(e.name, "student", password=password, display_name=e.display_name)
            audit(store, actor, "user.create", target_type="user", target_id=user.id, label=user.name,
                  role="student", via="roster")
            status = "created"
        if not store.enroll(cls.id, user.id) and status != "created":
            status = "already enrolled"
        results.append(RosterResult(e.row, user.name, status, generated))
    audit(store, actor, "class.roster", target_type="class", target_id=cls.id, label=cls.name,
          students=[r.name for r in results], created=sum(r.status == "created" for r in results))
    return results
