"""Batch rendering: 24 territory plans, naive vs ``salesplan run``, and the floor.

* naive: per unit, one after another, ``papermill`` CLI then
  ``jupyter nbconvert --to html --no-input`` (subprocesses from .venv/bin): two interpreter
  starts, one kernel start and one exporter per unit.
* ``salesplan run --by territory --workers <cores>``: long-lived workers, one warm kernel and
  one exporter per worker.
* floor = units x (bare kernel start + package imports) / cores: what per-unit kernels would
  cost even with perfect parallelism and zero work.

Targets: naive / salesplan >= 8; salesplan / floor <= 1.5.

    python benchmarks/bench_run.py [--units 24] [--skip-naive]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_plan(folder: Path, units: int) -> list[str]:
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    data = generate(seed=42, accounts=100 * units, opportunities=800 * units,
                    territories=units, regions=4)
    Workspace.create(folder, data=data)
    return sorted(data.territories["territory_id"].astype(str))[:units]


def kernel_start_seconds(repeat: int = 3) -> float:
    """Median wall time of: start a kernel, wait until ready, import the package."""
    from jupyter_client.manager import KernelManager

    from salesplan_nb.batch.runner import WARM_CODE

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        km = KernelManager(kernel_name="python3")
        km.start_kernel(stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(WARM_CODE, timeout=120, output_hook=lambda m: None)
        times.append(time.perf_counter() - t0)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(times)


def naive(plan: Path, units: list[str], out: Path) -> float:
    nb = ROOT / "notebooks" / "plans" / "territory.ipynb"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i, unit in enumerate(units):
        ipynb = out / f"unit{i}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(nb), str(ipynb), "-p", "plan_dir", str(plan),
                        "-p", "scope_level", "territory", "-p", "unit", unit, "-p", "plan_type",
                        "territory", "--no-progress-bar", "--log-level", "ERROR"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                        str(ipynb)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def salesplan(plan: Path, n: int, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "salesplan"), "run", str(plan), "--by", "territory", "--out",
                    str(out), "--workers", str(workers), "--quiet"], check=True,
                   stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    htmls = list((out / "territory").glob("*.html"))
    if len(htmls) != n:
        raise SystemExit(f"salesplan run rendered {len(htmls)} of {n} plans")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=24)
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        units = make_plan(tmp / "plan", args.units)
        n = len(units)
        k = kernel_start_seconds()
        floor = n * k / cores
        print(f"units: {n} territory plans, cores: {cores}")
        print(f"bare kernel start + imports: {k:.2f} s -> floor {n} x {k:.2f} / {cores} = "
              f"{floor:.1f} s")
        fast = salesplan(tmp / "plan", n, tmp / "fast", cores)
        sizes = [p.stat().st_size for p in (tmp / "fast" / "territory").glob("*.html")]
        print(f"salesplan run: {fast:.1f} s ({fast / n:.2f} s/plan; HTML {min(sizes) / 1e6:.2f}"
              f"-{max(sizes) / 1e6:.2f} MB)")
        print(f"salesplan / floor: {fast / floor:.2f} (target <= 1.5)")
        if not args.skip_naive:
            slow = naive(tmp / "plan", units, tmp / "naive")
            print(f"naive papermill + nbconvert CLI: {slow:.1f} s ({slow / n:.2f} s/plan)")
            print(f"speed-up naive / salesplan: {slow / fast:.1f}x (target >= 8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
