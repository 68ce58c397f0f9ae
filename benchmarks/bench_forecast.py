"""Forecast backtest benchmark: each method's error beside the seasonal-naive baseline, at the
horizon the forecast is used for (12 months ahead, monthly), and the speed of the demo's scopes.

Rolling origin (``salesplan_nb.steps.forecast.backtest``): the last 12 origins with 12 months of
actuals after them plus the later, partial ones. Maven CRM has only 10 months of closes (2017),
so its "seasonal naive" is plain naive and its horizon is what the history allows. Prints WAPE,
bias and, for the chosen bias-corrected ``forecast``, the share of actuals inside its 80% / 95%
intervals (all scored leave-one-origin-out), then the CPU time of ``forecast()`` for every
region and territory of the demo company (16 scopes, plan period 2027).

    .venv/bin/python benchmarks/bench_forecast.py [--maven PATH] [--origins 12] [--horizon 12]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

from salesplan_nb import Scope
from salesplan_nb.data.loaders import load
from salesplan_nb.data.sample import generate
from salesplan_nb.steps import forecast as F

MAVEN = Path(os.environ.get("SALESPLAN_SHARED_DATA")
             or next((p / "shared" / "data" for p in Path(__file__).resolve().parents
                      if (p / "shared" / "data").is_dir()), Path("/work/shared/data"))
             ) / "maven-crm"


def report(name: str, data, scopes, origins: int, horizon: int) -> None:
    y = F.monthly_bookings(data)
    h = min(horizon, max(len(y) - 4, 1))
    print(f"\n## {name}: {len(y)} months of history to {F.history_end(data)}; "
          f"{h} months ahead")
    print(f"{'scope':<24}{'method':<10}{'WAPE':>8}{'bias':>8}{'vs naive':>9}{'cov80':>7}"
          f"{'cov95':>7}{'n':>5}")
    for sc in scopes:
        bt = F.backtest(data, sc, n_origins=origins, horizon=h)
        err = bt.errors.set_index("method")
        base = err.loc["baseline", "wape"]
        for m in (*F.METHODS, "forecast"):
            e = err.loc[m]
            cov = (f"{e['cover80']:>7.0%}{e['cover95']:>7.0%}" if m == "forecast"
                   else f"{'':>7}{'':>7}")
            print(f"{sc.label[:23]:<24}{m:<10}{e['wape']:>8.1%}{e['bias']:>+8.1%}"
                  f"{e['wape'] / base:>9.2f}{cov}{int(e['n']):>5}")
        print(f"{'':<24}selected: {bt.selected} x {bt.bias_factor:.3f}; {bt.note}")


def speed(data) -> None:
    scopes = ([Scope("region", r) for r in sorted(data.deals["region"].dropna().unique())]
              + [Scope("territory", t) for t in sorted(data.deals["territory"].dropna().unique())])
    F.forecast(data, scopes[0], period="2027")  # imports and first-call costs
    t, c = time.perf_counter(), time.process_time()
    for sc in scopes:
        F.forecast(data, sc, period="2027")
    print(f"\nforecast() for {len(scopes)} demo regions + territories (period 2027): "
          f"{time.process_time() - c:.1f} s CPU, {time.perf_counter() - t:.1f} s wall")


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maven", default=str(MAVEN))
    ap.add_argument("--origins", type=int, default=F.N_ORIGINS)
    ap.add_argument("--horizon", type=int, default=12)
    args = ap.parse_args()
    maven = load(args.maven, mapping="maven-crm")
    regions = sorted(maven.deals["region"].dropna().unique())
    report("Maven CRM", maven, [Scope(), *(Scope("region", r) for r in regions)],
           args.origins, args.horizon)
    sample = generate(seed=42)
    regions = sorted(sample.deals["region"].dropna().unique())
    report("Sample (seed 42, the demo company)", sample,
           [Scope(), *(Scope("region", r) for r in regions)], args.origins, args.horizon)
    speed(sample)


if __name__ == "__main__":
    main()
