"""Worked solutions: a problem's reference solution, and attempts of kind `work`.

Why: a teacher's worked solution becomes the key's steps, and a student's whole pasted solution is an attempt the teacher reviews.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_solution', sa.Text(), nullable=True))
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_kind'), "kind IN ('answer', 'step', 'work')")


def downgrade() -> None:
    op.execute("UPDATE attempts SET kind = 'answer' WHERE kind = 'work'")
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_kind'), "kind IN ('answer', 'step')")
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_column('reference_solution')
