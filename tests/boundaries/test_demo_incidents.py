"""`wangge demo --load` also writes a year of believable incidents with whole lifecycles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from core.scores import scores


def test_a_year_of_incidents(fresh_url, cli):
    result = cli(fresh_url, "demo", "--load", "--incidents", "3000")
    assert result.exit_code == 0, result.output
    assert "incidents loaded" in result.output
    engine = create_engine(fresh_url)
    now = datetime.now(UTC)
    with engine.connect() as c:
        tiers = dict(c.execute(text("SELECT tier, count(*) FROM incidents GROUP BY 1")).all())
        total = sum(tiers.values())
        assert 2500 <= total <= 3000
        assert tiers["A"] > 0.75 * total and tiers["A"] > tiers["B"] > tiers.get("C", 0) >= tiers.get("D", 0)
        first, last, unlocated = c.execute(
            text(
                "SELECT min(reported_at), max(reported_at), count(*) FILTER (WHERE grid_id IS NULL) FROM incidents"
            )
        ).one()
        assert unlocated == 0 and now - timedelta(days=366) < first and last <= now
        closed = c.execute(text("SELECT avg((status = 'closed')::int) FROM incidents")).scalar_one()
        assert closed > 0.95
        # Every incident's story starts with its report and follows the state machine's order.
        broken = c.execute(
            text("""
            SELECT count(*) FROM incidents i WHERE (SELECT action FROM incident_events e WHERE e.incident_id = i.id
                                                     ORDER BY at, id LIMIT 1) <> 'report'
               OR (i.status = 'closed' AND NOT EXISTS (SELECT 1 FROM incident_events e
                                                       WHERE e.incident_id = i.id AND e.action = 'close'))""")
        ).scalar()
        assert broken == 0
        chain = c.execute(
            text("""
            SELECT count(*) FROM incident_events e JOIN LATERAL (
                SELECT to_status FROM incident_events p WHERE p.incident_id = e.incident_id
                  AND (p.at, p.id) < (e.at, e.id) ORDER BY p.at DESC, p.id DESC LIMIT 1) prev ON true
            WHERE e.from_status IS DISTINCT FROM prev.to_status""")
        ).scalar()
        assert chain == 0
        sat_a = c.execute(
            text("SELECT avg((rating >= 4)::int) FROM incidents WHERE tier = 'A' AND rating IS NOT NULL")
        ).scalar_one()
        assert sat_a > 0.97
        assert c.execute(text("SELECT count(*) FROM summons")).scalar() > 0
        ranking = scores(c, "grid", since=now - timedelta(days=366), until=now, now=now)
        assert len(ranking) == 64 and all(0.5 < r["score"] <= 1 for r in ranking)
    engine.dispose()
    again = cli(fresh_url, "demo", "--load")
    assert "demo history skipped" in again.output
