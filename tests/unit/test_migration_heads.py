"""The migrations form one chain: helpers working in parallel each add a revision, and two
revisions on the same parent would leave Alembic with two heads (``upgrade head`` refuses)."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from geomon.store.migrate import alembic_config


def test_one_head_one_base() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused/"))
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    assert len(scripts.get_bases()) == 1, scripts.get_bases()
    # every revision is reachable from the head (no orphan branch)
    walked = {rev.revision for rev in scripts.walk_revisions()}
    assert walked == {
        rev.revision for rev in scripts.revision_map.iterate_revisions(scripts.get_heads(), "base")
    }
