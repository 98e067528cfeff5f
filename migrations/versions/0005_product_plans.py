"""product plans: each product points at its catalogue plan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:07:58.075696

Products made before this revision are matched to a plan by name (Bulgarian or English),
which is how the demo data and early installs named them; the rest stay without a plan and
count towards no volume tier until staff links them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_products_plan_id'), ['plan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_products_plan_id_plans'), 'plans', ['plan_id'], ['id'])
    op.execute(
        "UPDATE products SET plan_id = (SELECT MIN(plans.id) FROM plans"
        " WHERE plans.name_bg = products.plan_name OR plans.name_en = products.plan_name)"
        " WHERE plan_id IS NULL"
    )


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_products_plan_id_plans'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_products_plan_id'))
        batch_op.drop_column('plan_id')
