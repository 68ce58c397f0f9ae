"""Plan-wide results of a batch run (issue 15): account forecasts computed once per run and
read by every unit from the results cache; Series in the results cache."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesplan_nb.batch import planwide
from salesplan_nb.core.scope import Scope
from salesplan_nb.data import resultcache


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    root = tmp_path_factory.mktemp("planwide")
    Workspace.create(root / "plan", data=generate(seed=5, accounts=80, opportunities=900))
    from salesplan_nb.render.context import open_workspace

    return open_workspace(root / "plan")


def test_chunks_cover_every_unit_once_and_feed_every_slot(monkeypatch):
    monkeypatch.setattr(planwide, "ONE_CALL", False)  # scope by scope: chunks on the workers
    ids = [f"A-{i:03d}" for i in range(60)]
    cs = planwide.chunks("p", "account", ids, "2027", slots=2)
    got = [i for c in cs for i in c.ids]
    assert sorted(got) == ids and len(got) == len(set(got))
    assert len(cs) == 4 and max(len(c.ids) for c in cs) <= planwide.CHUNK  # 60/25 -> 3 < 2x2
    assert len(planwide.chunks("p", "account", ids[:3], None, slots=2)) == 3  # never empty
    assert len(planwide.chunks("p", "account", ids, None, size=60, slots=1)) == 2
    monkeypatch.setattr(planwide, "ONE_CALL", True)  # the vectorised forecast: one call
    assert [len(c.ids) for c in planwide.chunks("p", "account", ids, None, slots=2)] == [60]


def test_stored_forecasts_are_what_the_unit_reads(ws):
    from salesplan_nb.render import figures
    from salesplan_nb.steps import forecast as forecast_step

    ids = sorted(ws.data.accounts["account_id"].astype(str))[:3]
    chunk = planwide.ForecastChunk(str(ws.path), "account", tuple(ids), None)
    assert planwide.store_forecasts(chunk) == 3
    assert planwide.store_forecasts(chunk) == 0  # a second run finds them stored
    s = Scope("account", ids[0])
    assert resultcache.stored(ws, "forecast", args=(s, ws.period.label, "default"))

    def boom():
        raise AssertionError("the unit recomputed a forecast the batch had stored")

    got = figures.cached_forecast(ws, s, ws.period, build=boom)
    want = forecast_step.forecast(ws.data, s, ws.period)
    pd.testing.assert_frame_equal(got.table, want.table)
    # small scopes have no range (NaN bounds): compared NaN-aware
    pd.testing.assert_series_equal(pd.Series(got.total, dtype=object),
                                   pd.Series(want.total, dtype=object))
    assert got.selected == want.selected


def test_series_round_trip_exactly(tmp_path):
    s = pd.Series([1.5, np.nan, 3.25], index=pd.Index(["r1", "r2", "r3"], dtype="string"),
                  name="planned")
    resultcache._store(tmp_path, "x", {"planned": s, "none": pd.Series([], dtype=float)})
    back = resultcache._decode(json.loads((tmp_path / "x.json").read_text()), tmp_path)
    pd.testing.assert_series_equal(back["planned"], s)
    pd.testing.assert_series_equal(back["none"], pd.Series([], dtype=float))
