"""What-if benchmark: build a ScenarioModel and time recompute() at scale.

Data: ``salesplan_nb.data.sample.generate(accounts=100_000, opportunities=1_000_000)`` (about
1,000 reps and 100 territories). Prints figures; targets: build <= 3 s, recompute median
<= 50 ms for every scope (company, regions, territories, reps) x 12 months (headcount
changes include the per-territory pipeline ceiling; every result the KPI coverage).

    .venv/bin/python benchmarks/bench_scenarios.py [--accounts N] [--opportunities N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from salesplan_nb.data.sample import generate
from salesplan_nb.steps import scenarios as S


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--opportunities", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()

    t = time.perf_counter()
    data = generate(seed=42, accounts=args.accounts, opportunities=args.opportunities)
    gen = time.perf_counter() - t
    print(f"data: {len(data.accounts):,} accounts, {len(data.opportunities):,} opportunities, "
          f"{len(data.reps):,} reps, {data.reps['territory'].nunique():,} territories "
          f"(generated in {gen:.1f} s)")

    builds = []
    for _ in range(3):
        t = time.perf_counter()
        model = S.build(data)
        builds.append(time.perf_counter() - t)
    print(f"build: median {statistics.median(builds):.2f} s over 3 "
          f"({model.R:,} seats, {len(model.terr_ids)} territories, {len(model.reg_ids)} "
          f"regions, {model.H} months)")

    try:
        from salesplan_nb.steps import quotas
    except ImportError:
        quotas = None
    if quotas is not None:
        t = time.perf_counter()
        plan = quotas.quotas(data, None, model.period)
        tq = time.perf_counter() - t
        t = time.perf_counter()
        S.build(data, quotas=plan)
        print(f"build with the quotas.py plan (as from_workspace does): {tq:.2f} s quota split "
              f"+ {time.perf_counter() - t:.2f} s build")

    base = S.Scenario("base")
    changes = [base.with_change("win_rate", 0.05),
               base.with_change("headcount", 0.10, start=str(model.months[3])),
               base.with_change("price", 0.03, scope=f"region:{model.reg_ids[0]}"),
               base.with_change("cycle", -0.10).with_change("pipeline", 0.08)]
    times = []
    for i in range(args.repeats):
        sc = changes[i % len(changes)]
        t = time.perf_counter()
        res = model.recompute(sc)
        times.append(time.perf_counter() - t)
    n_scopes = sum(len(ids) for ids, _ in res.levels.values())
    print(f"recompute: median {1000 * statistics.median(times):.1f} ms, max "
          f"{1000 * max(times):.1f} ms over {args.repeats} driver changes "
          f"({n_scopes:,} scopes x {model.H} months x {len(S.METRICS)} metrics)")

    t = time.perf_counter()
    table = res.table()
    print(f"long table of the result ({len(table):,} rows): "
          f"{1000 * (time.perf_counter() - t):.0f} ms")
    t = time.perf_counter()
    tor = S.sensitivity(model)
    print(f"tornado (9 drivers x +-10%, 18 recomputes): {time.perf_counter() - t:.2f} s; "
          f"top driver {tor['driver'].iloc[0]}")
    t = time.perf_counter()
    mc = S.monte_carlo(model, n=10_000, seed=1)
    print(f"monte carlo 10,000 draws: {1000 * (time.perf_counter() - t):.0f} ms; "
          f"P(reach target) = {mc.probability:.1%}")
    tac = S.Scenario("tactics", [
        S.Change("pipeline", 0.08, start=str(model.months[1]), source="tactic:demand gen"),
        S.Change("win_rate", 0.05, source="tactic:training"),
        S.Change("cycle", -0.05, start=str(model.months[2]), source="tactic:cpq")])
    t = time.perf_counter()
    mc = S.monte_carlo(model, tac, n=10_000, seed=1)
    print(f"monte carlo 10,000 draws with 3 uncertain tactics: "
          f"{1000 * (time.perf_counter() - t):.0f} ms; P10-P90 {mc.p10:,.0f}-{mc.p90:,.0f}")
    t = time.perf_counter()
    cal = model.calibrated("company", 1.1 * res.total("company"))
    print(f"calibrate to a forecast: {1000 * (time.perf_counter() - t):.0f} ms; pipeline "
          f"ceiling {cal.ceiling.min():.2f}x-{cal.ceiling.max():.2f}x the base")


if __name__ == "__main__":
    main()
