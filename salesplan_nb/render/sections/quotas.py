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
    moves = territory_moves(ctx)
    if moves:  # step 10's decision, when recorded (the quota split stands without it)
        s.add(moves)
    try:
        s.add(q.chart_quotas(plan))
    except Exception as exc:  # noqa: BLE001
        s.add(Missing(f"quota chart ({exc})"))
    return s


def _fairness_text(f) -> str:
    """Fairness in words: CV of quota / potential and shares expected at 100% / 80%."""
    if getattr(f, "basis", "") == "planned productivity":  # the plan figure, same number
        return (f"{f.n} seats; quota/potential varies by {pct(f.cv_quota_per_potential)} "
                f"(CV); {pct(f.share_100_normal)} expected to reach 100% of quota and "
                f"{pct(f.share_80_normal)} to reach 80%, from each seat's planned "
                "productivity and its spread" + (f". Warning: {f.flag}" if f.flag else ""))
    return (f"{f.n} units; quota/potential varies by {pct(f.cv_quota_per_potential)} (CV); "
            f"{pct(f.share_100)} expected to reach 100% of quota and {pct(f.share_80)} to "
            f"reach 80% on trailing bookings")


def territory_moves(ctx: PlanContext) -> str:
    """The accepted territory moves (step 10, decisions.territories) that touch this unit:
    accounts moving in and out with the moved potential and open pipeline (USD; all moves
    for the company). The quota split above is made on the books after these moves."""
    saved = ctx.ws.get("territories", default=None)
    if not saved:
        return ""
    moves = saved.get("accepted_moves") or []
    if not moves:
        tol = saved.get("tolerance")
        return ("Territory balance (decisions.territories): no account moves accepted"
                + (f" (balance tolerance {pct(float(tol), 0)}, {len(saved.get('locked') or [])}"
                   " accounts locked)" if tol is not None else "") + ".")

    def dollars(ms: list) -> str:
        known = [m for m in ms if m.get("potential") is not None]
        if not known:
            return ""
        pot = sum(float(m["potential"]) for m in known)
        pipe = sum(float(m.get("open_pipeline") or 0.0) for m in known)
        return f" ({money(pot)} potential, {money(pipe)} open pipeline)"

    if ctx.scope.level == "company":
        return (f"Territory balance: {len(moves)} account moves accepted{dollars(moves)} "
                "(decisions.territories); the quotas above are split on the books after "
                "the moves.")
    terr = ctx.data.territories
    if ctx.scope.level == "region":
        mine = set(terr.loc[terr["region"] == ctx.scope.id, "territory_id"].astype(str))
    elif ctx.scope.level == "territory":
        mine = {str(ctx.scope.id)}
    else:
        return ""
    m_in = [m for m in moves if str(m.get("to")) in mine and str(m.get("from")) not in mine]
    m_out = [m for m in moves if str(m.get("from")) in mine and str(m.get("to")) not in mine]
    n_within = sum(str(m.get("from")) in mine and str(m.get("to")) in mine for m in moves)
    return (f"Territory balance (accepted moves, decisions.territories): {len(m_in)} accounts "
            f"move in{dollars(m_in)}, {len(m_out)} move out{dollars(m_out)}"
            + (f", {n_within} move within" if n_within else "")
            + "; the quotas above are split on the books after the moves.")
