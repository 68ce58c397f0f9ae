"""Core contracts: schema conformance, Dataset.deals enrichment, Scope and Period."""

from __future__ import annotations

import pandas as pd
import pytest

from salesplan_nb import Dataset, Period, Scope
from salesplan_nb.cli import main
from salesplan_nb.data import schema


def _ds() -> Dataset:
    return Dataset(
        accounts=pd.DataFrame({"account_id": ["a1", "a2"], "name": ["A", "B"],
                               "industry": ["Retail", "Tech"], "region": ["West", "East"],
                               "territory": ["W1", "E1"]}),
        opportunities=pd.DataFrame({
            "opportunity_id": ["o1", "o2", "o3"], "account_id": ["a1", "a2", None],
            "owner_id": ["r1", "r2", "r9"], "product_id": ["p1", "p1", "p2"],
            "stage": ["Won", "Lost", "Open"], "status": ["won", "lost", "open"],
            "created_date": ["2025-01-01", "2025-02-01", "2025-06-01"],
            "close_date": ["2025-03-01", "2025-04-01", None], "amount": [100.0, 0.0, 30.0]}),
        reps=pd.DataFrame({"rep_id": ["r1", "r2"], "name": ["Ann", "Bo"],
                           "region": ["East", None], "territory": ["E1", None]}),
        products=pd.DataFrame({"product_id": ["p1", "p2"], "family": ["F", "G"]}),
        orders=pd.DataFrame({"order_id": ["x1"], "account_id": ["a2"], "owner_id": ["r2"],
                             "order_date": ["2025-07-01"], "amount": [5.0]}),
    )


def test_conform_casts_and_fills():
    df = schema.conform("reps", pd.DataFrame({"rep_id": [1, 2], "name": ["a", "b"],
                                              "hire_date": ["2024-01-31", None]}))
    assert list(df.columns) == schema.TABLES["reps"].names
    assert df["rep_id"].tolist() == ["1", "2"]
    assert str(df["hire_date"].dtype) == schema.DATE
    assert df["end_date"].isna().all()
    assert len(schema.empty("opportunities")) == 0


def test_as_of_and_deals_enrichment():
    ds = _ds()
    assert ds.as_of == pd.Timestamp("2025-07-01")  # the order is the latest date
    d = ds.deals.set_index("opportunity_id")
    assert len(d) == 4  # 3 opportunities + 1 order
    assert d.loc["x1", "status"] == "won" and d.loc["x1", "close_date"] == pd.Timestamp("2025-07-01")
    assert d.loc["o1", "region"] == "East"        # rep's region wins over the account's
    assert d.loc["o2", "region"] == "East"        # rep has none: the account's
    assert d.loc["o2", "territory"] == "E1"
    assert pd.isna(d.loc["o3", "region"])         # unknown rep, no account
    assert d.loc["o1", "industry"] == "Retail" and d.loc["o3", "family"] == "G"


def test_scope_filter_and_parse():
    d = _ds().deals
    assert len(Scope().filter(d)) == 4
    assert set(Scope.parse("region:East").filter(d)["opportunity_id"]) == {"o1", "o2", "x1"}
    assert set(Scope("rep", "r2").filter(d)["opportunity_id"]) == {"o2", "x1"}
    assert Scope("account", "zz").filter(d).empty
    assert str(Scope.parse("territory:E1")) == "territory:E1"
    with pytest.raises(ValueError, match="unknown scope level"):
        Scope("planet", "x")
    with pytest.raises(ValueError, match="needs an id"):
        Scope("rep")


@pytest.mark.parametrize("text,start,end", [
    ("2025", "2025-01-01", "2026-01-01"), ("FY2024", "2024-01-01", "2025-01-01"),
    ("2025-Q3", "2025-07-01", "2025-10-01"), ("2025-H2", "2025-07-01", "2026-01-01"),
    ("2025-02", "2025-02-01", "2025-03-01"),
    ("2025-01-15..2025-02-14", "2025-01-15", "2025-02-15"),
    ("2027..2029", "2027-01-01", "2030-01-01"), ("2025-Q3..2026-Q2", "2025-07-01", "2026-07-01"),
    ("2025-07..2025-09", "2025-07-01", "2025-10-01")])
def test_period_parse(text, start, end):
    p = Period.parse(text)
    assert (p.start, p.end) == (pd.Timestamp(start), pd.Timestamp(end))


def test_period_navigation():
    p = Period.parse("2025-Q1")
    assert p.prior_year().label == "2024-Q1"
    assert (p.previous().start, p.previous().end) == (pd.Timestamp("2024-10-01"), p.start)
    assert Period.parse("2025").previous().label == "2024"
    assert Period.parse("2025").n_months == 12
    mask = p.contains(pd.Series(pd.to_datetime(["2025-01-01", "2025-03-31", "2025-04-01", None])))
    assert mask.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="cannot read period"):
        Period.parse("next year")
    with pytest.raises(ValueError, match="ends before it starts"):
        Period.parse("2029..2027")
    from salesplan_nb.core.errors import ConfigError
    with pytest.raises(ConfigError, match="month must be in 1..12"):  # CLI: a message, exit 2
        Period.parse("2027-13")
    assert Period.parse("2027..2029").n_months == 36


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "salesplan" in capsys.readouterr().out
