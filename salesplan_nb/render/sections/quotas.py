"""Quotas (step 9): the scope's part of the company split and its fairness."""

from __future__ import annotations

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import _quota_plan
from salesplan_nb.steps import quotas as quotas_step


def quotas_section(ctx: PlanContext) -> Section:
    """Quota split for this scope (quotas.py with the saved decisions) and its fairness."""
    s = Section("quotas", "Quotas")
    q = quotas_step
    plan = _quota_plan(ctx)
    if isinstance(plan, Exception):
        return s.add(Missing(f"quotas for {ctx.unit_label}: {plan}"))
    t = plan.table
    s.add(f"Target {money(plan.target)} split by {plan.decisions.method}"
          + (f"; {'; '.join(plan.notes)}" if plan.notes else "") + ".")
    cols = [c for c in ["level", "unit_id", "name", "parent", "history", "potential", "ramp",
                        "quota"] if c in t.columns]
    s.add(Table(t[cols].head(60), {"history": "money", "potential": "money", "ramp": "pct",
                                   "quota": "money"}))
    try:
        f = q.fairness(plan)
        s.add("Fairness: " + _fairness_text(f) + (f" ({f.note})" if f.note else "") + ".")
    except Exception as exc:  # noqa: BLE001
        s.add(Missing(f"quota fairness ({exc})"))
    try:
        s.add(q.chart_quotas(plan))
    except Exception as exc:  # noqa: BLE001
        s.add(Missing(f"quota chart ({exc})"))
    return s


def _fairness_text(f) -> str:
    """Fairness in words: CV of quota / potential and shares expected at 100% / 80%."""
    return (f"{f.n} units; quota/potential varies by {pct(f.cv_quota_per_potential)} (CV); "
            f"{pct(f.share_100)} expected to reach 100% of quota and {pct(f.share_80)} to "
            f"reach 80% on trailing bookings")
