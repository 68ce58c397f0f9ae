"""Quota benchmark: 1,000 reps.

Data: ``salesplan_nb.sample.generate(seed=42, accounts=100_000, opportunities=1_000_000,
reps=1_500)``: 100 territories, 4 regions and 1,038 quota-carrying reps (the generator's
default 1,000 reps include managers and leavers, leaving 669 who carry a quota). Times :func:`salesplan_nb.quotas.quotas` for each
method with overrides on 10 reps and 1 region, then seasonality (12 months x every rep),
fairness and reconciliation. ``cold`` includes the one-off ``Dataset.deals`` enrichment and
account potential (memoised on the Dataset); ``warm`` is the split itself (median of 5).

    .venv/bin/python benchmarks/bench_quotas.py
"""

from __future__ import annotations

import statistics
import time

from salesplan_nb import quotas as Q
from salesplan_nb.market import account_potential
from salesplan_nb.sample import generate


def timed(fn, n=5):
    out, times = None, []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times), max(times)


def main() -> None:
    t = time.perf_counter()
    data = generate(seed=42, accounts=100_000, opportunities=1_000_000, reps=1_500)
    print(f"data: {len(data.reps):,} reps, {len(data.territories)} territories, "
          f"{len(data.opportunities):,} opportunities (generated in {time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    data.deals  # noqa: B018 - one-off enrichment shared by every step
    t1 = time.perf_counter()
    account_potential(data)
    t2 = time.perf_counter()
    plan = Q.quotas(data, method="blend", target=500e6)
    t3 = time.perf_counter()
    print(f"cold: Dataset.deals {t1 - t:.2f} s + account potential {t2 - t1:.2f} s (both "
          f"memoised, shared with other steps) + first split {t3 - t2:.2f} s = {t3 - t:.2f} s")
    reps = plan.level("rep")
    overrides = {f"rep:{r}": 400_000.0 for r in reps["unit_id"].iloc[::100]}
    overrides["region:EMEA"] = 150e6
    print(f"quota-carrying reps: {len(reps):,}; units in the plan: {len(plan.table):,}")
    for method in Q.METHODS:
        kw = {} if method == "growth" else {"target": 500e6}
        plan, med, mx = timed(lambda m=method, kw=kw: Q.quotas(data, method=m,
                                                               overrides=overrides, **kw))
        print(f"quotas({method:<9}) warm: median {med * 1000:7.1f} ms, max {mx * 1000:7.1f} ms")
    _, med, _ = timed(lambda: Q.seasonality(plan, data))
    print(f"seasonality (12 months x {len(reps):,} reps): median {med * 1000:.1f} ms")
    _, med, _ = timed(lambda: Q.fairness(plan))
    print(f"fairness: median {med * 1000:.1f} ms")
    commits = dict(zip(reps["unit_id"], reps["quota"] * 0.9))
    _, med, _ = timed(lambda: Q.reconcile(plan, commits))
    print(f"reconcile: median {med * 1000:.1f} ms")


if __name__ == "__main__":
    main()
