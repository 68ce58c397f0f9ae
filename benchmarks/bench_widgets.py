"""Widget callback latency at the sample scale (``sample.generate(seed=42)``: 2,000 accounts,
30,000 opportunities).

For each slider: ``refresh`` = compute + live re-render (what the analyst waits for before the
chart moves: the spec is sent to the front-end at its end); ``callback`` = the whole observer
call including the plan.yaml write that follows. Median / max over 20 moves, after 2 warm-up
moves. Run: ``python benchmarks/bench_widgets.py``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path


def measure(label: str, move, widget, n: int = 20) -> None:
    for i in range(2):
        move(i)
    refresh, total = [], []
    for i in range(n):
        t0 = time.perf_counter()
        move(i + 2)
        total.append((time.perf_counter() - t0) * 1000)
        refresh.append(widget.last_ms)
    print(f"| {label} | {statistics.median(refresh):.0f} ms (max {max(refresh):.0f}) | "
          f"{statistics.median(total):.0f} ms (max {max(total):.0f}) |", flush=True)


def main() -> None:
    from salesplan_nb import ui
    from salesplan_nb.data.sample import generate
    from salesplan_nb.data.workspace import Workspace

    print("load average (1/5/15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    t0 = time.perf_counter()
    data = generate(seed=42)
    print(f"sample: {len(data.accounts):,} accounts, {len(data.opportunities):,} opportunities, "
          f"{len(data.reps):,} reps ({time.perf_counter() - t0:.1f} s to generate)")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "plan", data=data)
        ui.SwotBoard(ws, interactive=False)  # a realistic plan.yaml (SWOT items stored)
        print("| slider | refresh (compute + chart) | callback incl. plan.yaml write |")
        print("|---|---|---|")
        q = ui.QuotaAllocator(ws, interactive=True)
        measure("quota: region over-assignment", lambda i: q.set_over_assignment(
            "region", 0.05 + 0.01 * (i % 10)), q)
        q._show_level("rep")
        measure("quota: rep over-assignment (rep chart)", lambda i: q.set_over_assignment(
            "rep", 0.05 + 0.01 * (i % 10)), q)
        c = ui.CapacitySliders(ws, interactive=True)
        measure("capacity: attrition", lambda i: c.set("attrition", 0.10 + 0.01 * (i % 10)), c)
        s = ui.ScenarioManager(ws, "region:EMEA", interactive=True)
        measure("scenario: win-rate driver", lambda i: s.set_driver(
            "win_rate", 0.01 * (1 + i % 10)), s)
        g = ui.IcpSegments(ws, interactive=True)
        measure("segments: potential weight", lambda i: g.att["potential"].set_trait(
            "value", 0.2 + 0.05 * (i % 10)), g)
        t = ui.TerritoryBalancer(ws, "region:EMEA", interactive=True)
        measure("territories: tolerance", lambda i: t.set("tolerance", 0.03 + 0.01 * (i % 5)),
                t, n=5)
    print("load average (1/5/15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
