"""The SQL source: the same Maven data from CSV, SQLite and PostgreSQL gives identical tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from salesplan_nb.data import schema
from salesplan_nb.data.loaders import load, load_with_report

try:  # tests/ is a rootdir-relative folder, not a package (unless someone adds __init__.py)
    import pgserver
    from pgserver import postgres_url  # noqa: F401  (session fixture)
except ImportError:  # pragma: no cover
    from salesplan_nb.pgserver import postgres_url  # noqa: F401

    from salesplan_nb import pgserver

TABLES = ("sales_pipeline", "accounts", "sales_teams", "products")


def _write(engine: sa.Engine, maven_dir: Path) -> None:
    for name in TABLES:
        df = pd.read_csv(maven_dir / f"{name}.csv")
        for c in ("engage_date", "close_date"):
            if c in df:
                df[c] = pd.to_datetime(df[c])
        df.to_sql(name, engine, index=False, if_exists="replace")


def _assert_same(a, b) -> None:
    for t in schema.TABLES:
        key = schema.TABLES[t].key
        x, y = a.table(t), b.table(t)
        if key:
            x = x.sort_values(key, ignore_index=True)
            y = y.sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=t)
    assert a.as_of == b.as_of


def test_sqlite_matches_csv(maven_data, maven_dir, tmp_path):
    db = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    _write(engine, maven_dir)
    engine.dispose()
    _assert_same(load(f"sqlite:///{db}", "maven-crm"), maven_data)
    _assert_same(load(db, "maven-crm"), maven_data)  # a plain .sqlite path works too


def test_sql_queries_and_missing_table(maven_data, maven_dir, tmp_path):
    db = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    _write(engine, maven_dir)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sales_pipeline RENAME TO pipeline_2017")
    engine.dispose()
    data, report = load_with_report(db, "maven-crm")
    assert data is None
    assert any(p.file == "sales_pipeline" and "no table named 'sales_pipeline'" in p.reason
               for p in report.errors)
    d = load(db, "maven-crm", queries={"sales_pipeline": "SELECT * FROM pipeline_2017"})
    _assert_same(d, maven_data)


@pytest.mark.postgres
def test_postgres_matches_csv(maven_data, maven_dir, postgres_url):  # noqa: F811
    engine = sa.create_engine(postgres_url)
    _write(engine, maven_dir)
    engine.dispose()
    _assert_same(load(postgres_url, "maven-crm"), maven_data)
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # driver chosen
    _assert_same(load(plain, "maven-crm"), maven_data)


def test_missing_postgres_binaries_fail_not_skip(monkeypatch):
    monkeypatch.setattr(pgserver, "_bindir", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="scripts/system-deps.sh"):
        pgserver.PgServer.start()


def test_password_is_not_shown(tmp_path):
    from salesplan_nb.data.sources import _safe_url

    url = "postgresql+psycopg://ann:s3cret@127.0.0.1:1/crm"
    assert "s3cret" not in _safe_url(url) and "ann" in _safe_url(url)
