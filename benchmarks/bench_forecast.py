"""Forecast backtest benchmark: each method's error beside the seasonal-naive baseline, at the
horizon the forecast is used for (12 months ahead, monthly), and the speed of the demo's scopes.

Rolling origin (``salesplan_nb.steps.forecast.backtest``): the last 12 origins with 12 months of
actuals after them plus the later, partial ones. Maven CRM has only 10 months of closes (2017),
so its "seasonal naive" is plain naive and its horizon is what the history allows. Prints WAPE,
bias and, for the chosen bias-corrected ``forecast``, the share of actuals inside its 80% / 95%
intervals (all scored leave-one-origin-out), then the CPU time of ``forecast()`` for every
region and territory of the demo company (16 scopes, plan period 2027).

    .venv/bin/python benchmarks/bench_forecast.py [--maven PATH] [--horizon 12]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import pandas as pd

from salesplan_nb import Scope
from salesplan_nb.data.loaders import load
from salesplan_nb.data.sample import generate
from salesplan_nb.steps import forecast as F
from salesplan_nb.steps import reconcile as R

MAVEN = Path(os.environ.get("SALESPLAN_SHARED_DATA")
             or next((p / "shared" / "data" for p in Path(__file__).resolve().parents
                      if (p / "shared" / "data").is_dir()), Path("/work/shared/data"))
             ) / "maven-crm"


def report(name: str, data, horizon: int) -> None:
    """Per node of the hierarchy (company, regions, territories when nested): each method's
    backtest WAPE / bias beside seasonal naive, the chosen bias-corrected ``forecast`` with its
    interval coverage, and the reconciled forecast; then the mean per level."""
    y = F.monthly_bookings(data)
    h = min(horizon, max(len(y) - 4, 1))
    hf = F.hierarchy_forecast(data, None, horizon=h, backtest_horizon=h)
    print(f"\n## {name}: {len(y)} months of history to {F.history_end(data)}; "
          f"{h} months ahead; reconciliation: {hf.method} (lambda {hf.lam:.2f})")
    print(f"{'scope':<24}{'method':<11}{'WAPE':>8}{'bias':>8}{'vs naive':>9}{'cov80':>7}"
          f"{'cov95':>7}{'n':>5}")
    summary = []
    for node, base in zip(hf.hierarchy.nodes, hf.base, strict=True):
        r = hf.result(node)
        acc = r.accuracy().set_index("method")
        show = acc.index if node.level != "territory" else ["baseline", "forecast",
                                                            "reconciled"]
        for m in show:
            e = acc.loc[m]
            cov = (f"{e['cover80']:>7.0%}{e['cover95']:>7.0%}" if m in ("forecast", "reconciled")
                   else f"{'':>7}{'':>7}")
            print(f"{node.label[:23]:<24}{m:<11}{e['wape']:>8.1%}{e['bias']:>+8.1%}"
                  f"{e['vs_baseline']:>9.2f}{cov}{int(e['n']):>5}")
        if node.level != "territory":
            print(f"{'':<24}selected: {base.selected} x {base.backtest.bias_factor:.3f}")
        summary.append({"level": node.level, **{m: acc.loc[m, "wape"] for m in
                                                 ("baseline", "forecast", "reconciled")},
                        "cov80": acc.loc["reconciled", "cover80"],
                        "cov95": acc.loc["reconciled", "cover95"]})
    means = ", ".join(f"{m} {hf.scores[m].mean():.1%}" for m in ("base", *R.METHODS))
    print(f"\nreconciliation backtest, mean WAPE over {len(hf.hierarchy.nodes)} nodes: {means}")
    sm = pd.DataFrame(summary).groupby("level", sort=False).mean()
    print(f"\n{'level (mean)':<14}{'naive':>8}{'forecast':>10}{'reconciled':>12}"
          f"{'vs naive':>10}{'cov80':>7}{'cov95':>7}")
    for lvl, e in sm.iterrows():
        print(f"{lvl:<14}{e['baseline']:>8.1%}{e['forecast']:>10.1%}{e['reconciled']:>12.1%}"
              f"{e['reconciled'] / e['baseline']:>10.2f}{e['cov80']:>7.0%}{e['cov95']:>7.0%}")


def speed() -> None:
    """CPU and wall time of the default forecast() of every demo region and territory from a
    cold start (a fresh dataset: the first call computes and reconciles the whole hierarchy),
    then of 2,000 account scopes: one forecast_many() call and single forecast() calls."""
    data = generate(seed=42)
    scopes = ([Scope("region", r) for r in sorted(data.deals["region"].dropna().unique())]
              + [Scope("territory", t) for t in sorted(data.deals["territory"].dropna().unique())])
    t, c = time.perf_counter(), time.process_time()
    for sc in scopes:
        F.forecast(data, sc, period="2027")
    print(f"\nforecast() for {len(scopes)} demo regions + territories (period 2027, cold, "
          f"reconciled): {time.process_time() - c:.1f} s CPU, {time.perf_counter() - t:.1f} s "
          "wall")
    accs = [f"account:{a}" for a in data.accounts["account_id"][:2000]]
    t, c = time.perf_counter(), time.process_time()
    F.forecast_many(data, accs, "2027")
    print(f"forecast_many() for {len(accs)} accounts after the company fit: "
          f"{time.process_time() - c:.2f} s CPU, {time.perf_counter() - t:.2f} s wall")
    t, c = time.perf_counter(), time.process_time()
    for a in accs[:200]:
        F.forecast(data, a, "2027")
    print(f"forecast() of one account scope: {(time.process_time() - c) / 200 * 1000:.1f} ms "
          f"CPU, {(time.perf_counter() - t) / 200 * 1000:.1f} ms wall (mean of 200)")


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maven", default=str(MAVEN))
    ap.add_argument("--horizon", type=int, default=12)
    args = ap.parse_args()
    maven = load(args.maven, mapping="maven-crm")
    report("Maven CRM", maven, args.horizon)
    report("Sample (seed 42, the demo company)", generate(seed=42), args.horizon)
    speed()


if __name__ == "__main__":
    main()
