"""The school: users, classes and what admins and teachers change about them, each operation in one place.

Every operation takes the acting user (a `UserRecord` from the web, `access.CLI_ACTOR` from the
command line), checks their role, writes through the store and leaves one audit entry; the admin and
teacher pages and `mathtutor user|class|admin|export` only call these.

- `access`: the actor, role checks, a teacher's access rules (classes, sessions, flags), the audit entry
- `users`: create accounts, (de)activate, passwords, roles, display names
- `classes`: create classes, teachers, enrolment, class settings, export
- `roster`: CSV rosters, checked whole, then applied (accounts created, everyone enrolled)
- `flags`: resolving a flag on a session
"""
