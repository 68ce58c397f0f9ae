"""Territory rebalance benchmark: 10,000 accounts into 100 territories, +-5% of mean potential
per seat within each region.

Data: ``salesplan_nb.data.sample.generate(seed=42, accounts=10_000, opportunities=100_000,
territories=100)``; potential from ``market.account_potential`` (market table split over each
segment x region cell), current territory from the generator, 1% of accounts locked (every
100th). Prints the optimised plan (HiGHS MIP, heuristic warm start/fallback), the heuristic
alone and the naive from-scratch greedy baseline: moves, balance and time.

    .venv/bin/python benchmarks/bench_territories.py [--accounts 10000] [--territories 100]
"""

from __future__ import annotations

import argparse
import time

from salesplan_nb.data.sample import generate
from salesplan_nb.steps import territories as T
from salesplan_nb.steps.market import account_potential


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--territories", type=int, default=100)
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--time-limit", type=float, default=25.0)
    a = ap.parse_args()
    t = time.perf_counter()
    data = generate(seed=42, accounts=a.accounts, opportunities=10 * a.accounts,
                    territories=a.territories)
    account_potential(data)
    print(f"data: {len(data.accounts):,} accounts, {len(data.territories)} territories "
          f"(generated in {time.perf_counter() - t:.1f} s)")
    locked = data.accounts["account_id"].iloc[::100].tolist()
    print(f"{'plan':<16}{'moves':>7}{'seconds':>9}{'within':>8}{'pot min':>9}{'pot max':>9}"
          f"{'pot CV':>8}{'work min':>9}{'work max':>9}  status")
    rows = [("current", None), ("optimised", "auto"), ("heuristic", "heuristic"),
            ("naive baseline", "naive")]
    for name, method in rows:
        if method is None:  # today's books: the "before" figures of a plan
            plan = T.rebalance(data, tolerance=a.tolerance, locked=locked, method="heuristic")
            s = {"moves": 0, "seconds": 0.0, "within_tolerance": "-", "status": "-",
                 **{k[len("before_"):]: v for k, v in plan.summary.items()
                    if k.startswith("before_")}}
        else:
            t = time.perf_counter()
            plan = T.rebalance(data, tolerance=a.tolerance, locked=locked,
                               method="auto" if method == "naive" else method,
                               time_limit=a.time_limit, baseline=method == "naive")
            wall = time.perf_counter() - t
            s = {**plan.summary, "seconds": wall}
            moved_locked = int((plan.assignment["locked"] & plan.assignment["moved"]).sum())
            s["status"] = f"{plan.summary['status']}; locked moved: {moved_locked}"
        print(f"{name:<16}{s['moves']:>7,}{s['seconds']:>9.2f}{str(s['within_tolerance']):>8}"
              f"{s['potential_min_vs_mean']:>9.3f}{s['potential_max_vs_mean']:>9.3f}"
              f"{s['potential_cv']:>8.3f}{s['workload_min_vs_mean']:>9.3f}"
              f"{s['workload_max_vs_mean']:>9.3f}  {s['status']}", flush=True)

    synthetic(a)


def synthetic(a) -> None:
    """Harder case: every account's potential different (log-normal, sd 1), current
    territories drawn with skewed weights (Dirichlet 2), 1% locked."""
    import numpy as np

    rng = np.random.default_rng(7)
    n, k = a.accounts, a.territories
    p = rng.lognormal(11, 1.0, n)
    cur = rng.choice(k, n, p=rng.dirichlet(np.full(k, 2.0)))
    locked = np.zeros(n, bool)
    locked[::100] = True
    print(f"\nsynthetic: {n:,} accounts, log-normal potential (max {p.max() / (p.sum() / k):.1%}"
          f" of the mean territory), {k} territories")
    for name, method in (("optimised", "auto"), ("heuristic", "heuristic")):
        s = T.solve(p, cur, locked, k, tolerance=a.tolerance, method=method,
                    time_limit=a.time_limit)
        st = T.balance_stats(s.assign, p, np.ones(n), k)
        print(f"{name:<16}{s.moves:>7,}{s.seconds:>9.2f}{str(s.within_tolerance):>8}"
              f"{st['potential_min_vs_mean']:>9.3f}{st['potential_max_vs_mean']:>9.3f}"
              f"{st['potential_cv']:>8.3f}  {s.status}; locked moved: "
              f"{int((s.assign[locked] != cur[locked]).sum())}", flush=True)
    t = time.perf_counter()
    b = T.naive(p, locked, cur, k)
    st = T.balance_stats(b, p, np.ones(n), k)
    print(f"{'naive baseline':<16}{T.count_moves(b, cur):>7,}{time.perf_counter() - t:>9.2f}"
          f"{str(T._within(b, p, k, a.tolerance)):>8}{st['potential_min_vs_mean']:>9.3f}"
          f"{st['potential_max_vs_mean']:>9.3f}{st['potential_cv']:>8.3f}")


if __name__ == "__main__":
    main()
