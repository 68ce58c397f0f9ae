"""Forecast backtest benchmark: each method's error beside the seasonal-naive baseline.

Rolling origin (see ``salesplan_nb.steps.forecast``) on the Maven CRM data (only 10 months of closes
in 2017, so the "seasonal naive" baseline is plain naive there) and on the seeded sample
company (3.5 years), company and region level. Prints WAPE / MAPE per method; the blend is
scored leave-one-origin-out.

    .venv/bin/python benchmarks/bench_forecast.py [--maven PATH] [--origins 6] [--horizon 3]
"""

from __future__ import annotations

import argparse
import os
import time
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
    print(f"\n## {name}: {len(F.monthly_bookings(data))} months of history to "
          f"{F.history_end(data)}")
    print(f"{'scope':<28}{'method':<10}{'WAPE':>8}{'MAPE':>8}{'bias':>8}{'n':>5}")
    for sc in scopes:
        t = time.perf_counter()
        bt = F.backtest(data, sc, n_origins=origins, horizon=horizon)
        err = bt.errors.set_index("method")
        for m in F.METHODS:
            e = err.loc[m]
            print(f"{sc.label[:27]:<28}{m:<10}{e['wape']:>8.1%}{e['mape']:>8.1%}"
                  f"{e['bias']:>+8.1%}{int(e['n']):>5}")
        bh = bt.by_horizon.pivot(index="method", columns="horizon", values="wape")
        print(f"{'':<28}WAPE by months ahead: " + "; ".join(
            f"{m} " + "/".join(f"{v:.0%}" for v in bh.loc[m]) for m in F.METHODS))
        best = err["wape"].idxmin()
        print(f"{'':<28}best: {best}; baseline WAPE {err.loc['baseline', 'wape']:.1%} "
              f"({time.perf_counter() - t:.1f} s)")
    r = F.forecast(data, scopes[0], horizon=3, n_origins=origins, backtest_horizon=horizon)
    print("methods: " + " | ".join(f"{k}: {v}" for k, v in r.methods.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maven", default=str(MAVEN))
    ap.add_argument("--origins", type=int, default=6)
    ap.add_argument("--horizon", type=int, default=3)
    args = ap.parse_args()
    maven = load(args.maven, mapping="maven-crm")
    regions = sorted(maven.deals["region"].dropna().unique())
    report("Maven CRM", maven, [Scope(), *(Scope("region", r) for r in regions)],
           args.origins, args.horizon)
    sample = generate(seed=42)
    regions = sorted(sample.deals["region"].dropna().unique())
    report("Sample (seed 42, 2,000 accounts, 30,000 opportunities)", sample,
           [Scope(), *(Scope("region", r) for r in regions)], args.origins, args.horizon)


if __name__ == "__main__":
    main()
