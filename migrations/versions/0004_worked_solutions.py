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


def _attempts(kinds: str) -> sa.Table:
    """The attempts table as 0001 made it, so SQLite's batch copy needs no reflection and
    `mathtutor db upgrade --sql` can print this migration too."""
    return sa.Table(
        'attempts', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), sa.ForeignKey('tutor_sessions.id', name='fk_attempts_session_id_tutor_sessions',
                                                            ondelete='CASCADE'), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('events.id', name='fk_attempts_event_id_events',
                                                          ondelete='CASCADE'), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('step', sa.Integer(), nullable=True),
        sa.Column('input', sa.Text(), nullable=False),
        sa.Column('verdict', sa.String(length=32), nullable=False),
        sa.Column('feedback', sa.Text(), nullable=False),
        sa.Column('first_bad_line', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name='ck_attempts_kind'),
        sa.PrimaryKeyConstraint('id', name='pk_attempts'),
        sa.UniqueConstraint('event_id', name='uq_attempts_event_id'),
        sa.Index('ix_attempts_session_id', 'session_id'),
    )


def upgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_solution', sa.Text(), nullable=True))
    with op.batch_alter_table('attempts', schema=None, copy_from=_attempts("'answer', 'step'")) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_kind'), "kind IN ('answer', 'step', 'work')")


def downgrade() -> None:
    op.execute("UPDATE attempts SET kind = 'answer' WHERE kind = 'work'")
    with op.batch_alter_table('attempts', schema=None, copy_from=_attempts("'answer', 'step', 'work'")) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_kind'), "kind IN ('answer', 'step')")
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_column('reference_solution')
