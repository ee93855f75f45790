"""Sign-ins that end, and a write probe.

Why: sign-out and password changes must end cookies at once (a per-user session epoch, signed-out cookies
until they expire), and /healthz must prove the store can still commit a write.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))

    op.create_table('signed_out',
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signed_out_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nonce_hash', name=op.f('pk_signed_out'))
    )
    with op.batch_alter_table('signed_out', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signed_out_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signed_out_user_id'), ['user_id'], unique=False)

    op.create_table('write_probe',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_probe'))
    )


def downgrade() -> None:
    op.drop_table('write_probe')
    with op.batch_alter_table('signed_out', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signed_out_user_id'))
        batch_op.drop_index(batch_op.f('ix_signed_out_expires_at'))

    op.drop_table('signed_out')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
