"""Alembic migrations of the store; run them with `mathtutor db upgrade` (no alembic.ini needed)."""
