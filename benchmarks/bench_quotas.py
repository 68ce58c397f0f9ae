"""Quota benchmark: 1,000 reps.

Data: ``salesplan_nb.data.sample.generate(seed=42, accounts=100_000, opportunities=1_000_000,
reps=1_500)``: 100 territories, 4 regions and 1,038 quota-carrying reps (the generator's
default 1,000 reps include managers and leavers, leaving 669 who carry a quota). Times
:func:`salesplan_nb.steps.quotas.quotas` for each method with overrides on 10 reps and 1 region, then
seasonality (12 months x every rep), fairness and reconciliation.

``cold`` is the first call on a freshly built Dataset (nothing memoised: the trailing bookings,
account potential and the per-unit bases; neither builds ``Dataset.deals``), timed whole
and split into account potential vs the rest on a second fresh Dataset. ``warm`` is a call with
a new over-assignment each time (the memoised bases are reused, only the split is redone):
median of 5.

    .venv/bin/python benchmarks/bench_quotas.py
"""

from __future__ import annotations

import dataclasses
import statistics
import time

from salesplan_nb.data.sample import generate
from salesplan_nb.steps import quotas as Q
from salesplan_nb.steps.market import account_potential


def timed(fn, n=5):
    out, times = None, []
    for i in range(n):
        t = time.perf_counter()
        out = fn(i)
        times.append(time.perf_counter() - t)
    return out, statistics.median(times), max(times)


def main() -> None:
    t = time.perf_counter()
    data = generate(seed=42, accounts=100_000, opportunities=1_000_000, reps=1_500)
    print(f"data: {len(data.reps):,} reps, {len(data.territories)} territories, "
          f"{len(data.opportunities):,} opportunities (generated in {time.perf_counter() - t:.1f} s)")
    fresh = dataclasses.replace(data)  # a new Dataset object: empty memo, deals not built
    t = time.perf_counter()
    plan = Q.quotas(fresh, method="blend", target=500e6)
    cold = time.perf_counter() - t
    print(f"cold: first quotas() on a fresh Dataset {cold:.2f} s "
          f"(Dataset.deals built on the way: {'deals' in fresh.__dict__})")
    fresh = dataclasses.replace(data)
    t = time.perf_counter()
    account_potential(fresh)
    t1 = time.perf_counter()
    Q.quotas(fresh, method="blend", target=500e6)
    t2 = time.perf_counter()
    print(f"cold, split: account potential {t1 - t:.2f} s + the rest of the "
          f"first quotas() (trailing bookings, bases, split) {t2 - t1:.2f} s")
    data = fresh
    reps = plan.level("rep")
    overrides = {f"rep:{r}": 400_000.0 for r in reps["unit_id"].iloc[::100]}
    overrides["region:EMEA"] = 150e6
    print(f"quota-carrying reps: {len(reps):,}; units in the plan: {len(plan.table):,}")
    for method in Q.METHODS:
        kw = {} if method == "growth" else {"target": 500e6}
        plan, med, mx = timed(lambda i, m=method, kw=kw: Q.quotas(
            data, method=m, overrides=overrides, over_assignment={"rep": 0.05 + 0.01 * i}, **kw))
        print(f"quotas({method:<9}) warm: median {med * 1000:7.1f} ms, max {mx * 1000:7.1f} ms")
    _, med, _ = timed(lambda i: Q.seasonality(plan, data))
    print(f"seasonality (12 months x {len(reps):,} reps): median {med * 1000:.1f} ms")
    _, med, _ = timed(lambda i: Q.fairness(plan))
    print(f"fairness: median {med * 1000:.1f} ms")
    commits = dict(zip(reps["unit_id"], reps["quota"] * 0.9, strict=True))
    _, med, _ = timed(lambda i: Q.reconcile(plan, commits))
    print(f"reconcile: median {med * 1000:.1f} ms")


if __name__ == "__main__":
    main()
