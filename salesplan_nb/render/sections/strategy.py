"""Strategy and tactics (step 8)."""

from __future__ import annotations

from salesplan_nb.core.formats import money, pct
from salesplan_nb.render.blocks import Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import company_share
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import strategy as strategy_step


def strategy_tactics(ctx: PlanContext) -> Section:
    """Tactics of this unit, and the company tactics that reach it: those for a segment the
    unit sells to (or for every segment). Budgets: the unit's own in full; a company tactic's
    apportioned by the unit's share of company bookings (:func:`figures.company_share`), the
    company total shown as context only."""
    s = Section("strategy_tactics", "Strategy & tactics")
    st = strategy_step
    every = st.load_tactics(ctx.ws)
    own = [t for t in every if str(t.scope) == str(ctx.scope)]
    company = [t for t in every if str(t.scope) == "company" and ctx.scope.level != "company"
               and (not t.segment or t.segment in ctx.segments)]
    if ctx.scope.level == "company":
        own = [t for t in every if str(t.scope) == "company"]
    tactics = own + company
    if not tactics:
        return s.add(to_decide("tactics for this unit (decisions.tactics)", "strategy"))
    share = company_share(ctx)
    df = st.tactics_table(tactics)
    df["budget"] = [float(t.budget) * (share if t in company else 1.0) for t in tactics]
    df["applies"] = ["this unit" if t in own else "company tactic" for t in tactics]
    cols = [c for c in ["name", "category", "segment", "driver", "effect", "owner", "budget",
                        "start", "end", "applies"] if c in df.columns]
    label = "Budget (USD)" if not company else "Budget for this unit (USD)"
    s.add(Table(df[cols], {"budget": "money", "effect": "num", "start": "date", "end": "date"},
                labels={"budget": label}))
    total = float(df["budget"].sum())
    txt = f"{len(tactics)} tactics, budget {money(total)}"
    if company:
        all_company = float(sum(t.budget for t in every if str(t.scope) == "company"))
        txt += (f" (company tactics apportioned at {pct(share)}, this unit's share of "
                f"{ctx.baseline.label} company bookings; company tactics budget "
                f"{money(all_company)} is context, not this unit's)")
    s.add(txt + ".")
    if len(st.budget_by_category(tactics)):
        s.add(st.chart_tactics(tactics))
    return s
