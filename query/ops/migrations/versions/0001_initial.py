"""Query log: exchanges, their sources, and feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exchange_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("user", sa.String(200), nullable=False, server_default=""),
        sa.Column("session_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("rewritten", sa.Text, nullable=True),
        sa.Column("mode", sa.String(20), nullable=False, server_default=""),
        sa.Column("intent", sa.String(40), nullable=False, server_default=""),
        sa.Column("answer", sa.Text, nullable=False, server_default=""),
        sa.Column("notice", sa.Text, nullable=True),
        sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cache_kind", sa.String(20), nullable=True),
        sa.Column("retrieve_ms", sa.Float, nullable=True),
        sa.Column("generate_ms", sa.Float, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("llm_requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("top_score", sa.Float, nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="answered", index=True),
    )
    op.create_table(
        "exchange_sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exchange_id", sa.String(64), sa.ForeignKey("exchanges.exchange_id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("anchor", sa.Text, nullable=True),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("heading", sa.Text, nullable=False, server_default=""),
        sa.Column("score", sa.Float, nullable=True),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exchange_id", sa.String(64), sa.ForeignKey("exchanges.exchange_id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(200), nullable=False, server_default=""),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False, server_default=""),
        sa.Column("comment", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("exchange_sources")
    op.drop_table("exchanges")
