"""Load + validate speed and memory: canonical CSVs with 1,000,000 opportunities and 100,000
accounts (from ``salesplan_nb.data.sample.write_csv``), read with ``loaders.load_with_report``.

Target (2-core machine): <= 5 s wall time and <= 2 GB peak resident memory. The load runs in a
fresh subprocess so peak RSS (``resource.getrusage(...).ru_maxrss``) is the load's own, and
the Python + library import baseline is reported next to it.

``--join`` loads through a mapping file instead of the canonical layout: the opportunities are
an ``sql:`` join (deals x accounts, the deal territory from the account) with a ``WHERE``
filter on DuckDB, and the reps a ``filter:`` (issue 12).

    python benchmarks/bench_load.py [--opportunities N] [--accounts N] [--repeat R] [--dirty]
                                    [--join]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GEN = r"""
import sys
from salesplan_nb.data.sample import write_csv
write_csv(sys.argv[1], seed=int(sys.argv[2]), accounts=int(sys.argv[3]),
          opportunities=int(sys.argv[4]))
"""

DIRTY = r"""
import sys
import numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pacsv
path = sys.argv[1] + "/opportunities.csv"
t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
    column_types={c: pa.string() for c in pacsv.read_csv(path, read_options=pacsv.ReadOptions(
        block_size=1 << 16)).column_names}))
rng = np.random.default_rng(0)
n = t.num_rows
def spoil(col, frac, fn):
    global t
    mask = pa.array(rng.random(n) < frac)
    i = t.column_names.index(col)
    t = t.set_column(i, col, pc.if_else(mask, fn(t.column(col)), t.column(col)))
spoil("amount", 0.005, lambda a: pa.scalar("n/a"))                  # errors: not a number
spoil("close_date", 0.001, lambda a: pa.scalar("2025-13-01"))       # errors: not a date
spoil("product_id", 0.01, lambda a: pc.utf8_lower(a))                # warnings: near-miss ids
spoil("account_id", 0.02, lambda a: pa.scalar(None, pa.string()))    # warnings: no account
pacsv.write_csv(t, path)
"""

JOIN_MAPPING = """\
name: bench-join
tables:
  accounts: accounts
  products: products
  territories: territories
  reps: {from: reps, filter: "rep_id IS NOT NULL AND name IS NOT NULL"}
  opportunities:
    sql: |
      SELECT o._row, o.opportunity_id, o.account_id, o.owner_id, o.product_id, o.stage,
             o.status, o.created_date, o.close_date, o.amount, o.loss_reason,
             a.territory AS territory
      FROM opportunities o LEFT JOIN accounts a USING (account_id)
      WHERE o.status IN ('open', 'won', 'lost')
"""

CHILD = r"""
import json, resource, sys, time
import pandas, pyarrow, duckdb
from salesplan_nb.data import loaders
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
data, report = loaders.load_with_report(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
secs, cpu = time.perf_counter() - t0, time.process_time() - c0
t1 = time.perf_counter()
deals = data.deals if data is not None else None
deal_secs = time.perf_counter() - t1
print(json.dumps({
    "secs": secs, "cpu": cpu, "deals_secs": deal_secs, "ok": report.ok,
    "errors": len(report.errors), "warnings": len(report.warnings),
    "rows": {t: i.rows for t, i in report.tables.items()},
    "base_kb": base, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def run_once(folder: Path, mapping: Path | None = None) -> dict:
    extra = [str(mapping)] if mapping is not None else []
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opportunities", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dirty", action="store_true",
                    help="spoil ~0.6%% of the deals (bad amounts/dates, misspelt products, "
                         "blank accounts) to time the error path too")
    ap.add_argument("--join", action="store_true",
                    help="load through a mapping with an sql: join + filter (DuckDB)")
    args = ap.parse_args(argv)

    # generate in a subprocess too: ru_maxrss survives fork/exec, so this parent must stay small
    with tempfile.TemporaryDirectory(prefix="salesplan-bench-") as tmp:
        folder = Path(tmp) / "csv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", GEN, str(folder), str(args.seed),
                        str(args.accounts), str(args.opportunities)], check=True)
        if args.dirty:
            subprocess.run([sys.executable, "-c", DIRTY, str(folder)], check=True)
        size = sum(p.stat().st_size for p in folder.glob("*.csv")) / 1e6
        print(f"generated canonical CSVs: {args.opportunities:,} opportunities, "
              f"{args.accounts:,} accounts, {size:,.0f} MB in {time.perf_counter() - t0:.1f} s")
        mapping = None
        if args.join:
            mapping = Path(tmp) / "join.yaml"
            mapping.write_text(JOIN_MAPPING)
            print("mapping: opportunities = sql join deals x accounts + WHERE; reps = filter:")
        runs = [run_once(folder, mapping) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["secs"])
    peak = max(r["peak_kb"] for r in runs) / 1024
    print("tables: " + ", ".join(f"{t} {n:,}" for t, n in best["rows"].items()))
    print(f"report: ok={best['ok']} errors={best['errors']} warnings={best['warnings']}")
    print(f"load+validate wall time: best {best['secs']:.2f} s, runs "
          + ", ".join(f"{r['secs']:.2f}" for r in runs) + " s  (target <= 5 s)")
    print("CPU time (all threads; less sensitive to a busy machine): best "
          f"{min(r['cpu'] for r in runs):.2f} s")
    print(f"peak RSS: {peak:,.0f} MB (imports alone {best['base_kb'] / 1024:,.0f} MB)  "
          "(target <= 2048 MB)")
    print(f"Dataset.deals (enrichment, not part of the target): {best['deals_secs']:.2f} s")
    return 0 if best["ok"] != args.dirty else 1


if __name__ == "__main__":
    sys.exit(main())
