"""Sample generator speed: generate() at default and large sizes, write_csv at default size."""

from __future__ import annotations

import tempfile
import time

from salesplan_nb.data.sample import generate, write_csv


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    for accounts, opps in ((2_000, 30_000), (20_000, 200_000), (100_000, 1_000_000)):
        secs, data = timed(generate, seed=42, accounts=accounts, opportunities=opps)
        print(f"generate {accounts:>7,} accounts / {opps:>9,} opportunities: {secs:5.2f} s "
              f"({len(data.territories)} territories, {len(data.reps):,} reps)")
        secs, _ = timed(lambda d=data: d.deals)
        print(f"  Dataset.deals enrichment: {secs:5.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        secs, _ = timed(write_csv, tmp, seed=42)
        print(f"write_csv default size: {secs:5.2f} s")


if __name__ == "__main__":
    main()
