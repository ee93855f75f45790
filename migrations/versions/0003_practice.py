"""Adaptive practice: problem banks, picks, spaced review, fitted BKT parameters.

Why: mastery must choose the next problem (a bank per class, the picks and why) and bring mastered skills back on a schedule.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:04:38.378972
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bkt_fits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=128), nullable=False),
    sa.Column('p_init', sa.Float(), nullable=False),
    sa.Column('p_learn', sa.Float(), nullable=False),
    sa.Column('p_guess', sa.Float(), nullable=False),
    sa.Column('p_slip', sa.Float(), nullable=False),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_bkt_fits_class_id_classes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bkt_fits')),
    sa.UniqueConstraint('class_id', 'skill', name='uq_bkt_fits_class_skill')
    )
    op.create_table('practice_settings',
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('order_mode', sa.String(length=16), nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.CheckConstraint("order_mode IN ('adaptive', 'fixed')", name=op.f('ck_practice_settings_order_mode')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_practice_settings_class_id_classes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', name=op.f('pk_practice_settings'))
    )
    op.create_table('review_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=128), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_schedule_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_schedule')),
    sa.UniqueConstraint('user_id', 'skill', name='uq_review_schedule_user_skill')
    )
    op.create_table('practice_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=128), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('parent_problem_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("origin IN ('dataset', 'teacher', 'generated')", name=op.f('ck_practice_items_origin')),
    sa.CheckConstraint("status IN ('approved', 'pending')", name=op.f('ck_practice_items_status')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_practice_items_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_practice_items_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_problem_id'], ['problems.id'], name=op.f('fk_practice_items_parent_problem_id_problems'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_practice_items_problem_id_problems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_items')),
    sa.UniqueConstraint('class_id', 'problem_id', name='uq_practice_items_class_problem')
    )
    with op.batch_alter_table('practice_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_items_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_items_problem_id'), ['problem_id'], unique=False)

    op.create_table('practice_picks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('picked_at', sa.DateTime(), nullable=False),
    sa.Column('settled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_practice_picks_problem_id_problems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_practice_picks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_picks'))
    )
    with op.batch_alter_table('practice_picks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_picks_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('practice_picks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_picks_user_id'))

    op.drop_table('practice_picks')
    with op.batch_alter_table('practice_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_items_problem_id'))
        batch_op.drop_index(batch_op.f('ix_practice_items_class_id'))

    op.drop_table('practice_items')
    op.drop_table('review_schedule')
    op.drop_table('practice_settings')
    op.drop_table('bkt_fits')
