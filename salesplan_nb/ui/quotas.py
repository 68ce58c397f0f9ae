"""Widgets for steps 9-11: quota allocator, territory balancer, budget allocator."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.steps import capacity, quotas, resources, territories
from salesplan_nb.steps.capacity import vega_records
from salesplan_nb.ui import StepWidget, account_territory
from salesplan_nb.ui.plan import keep_spec, swap_spec

__all__ = ["QuotaAllocator", "TerritoryBalancer", "BudgetAllocator", "chart_fairness"]

CHILD = {"company": "region", "region": "territory", "territory": "rep", "rep": "rep"}
PLURAL = {"region": "regions", "territory": "territories", "rep": "reps"}


def fairness_frame(fair) -> pd.DataFrame:
    """The units of a :class:`quotas.Fairness` with a finite expected attainment, for charts."""
    t = fair.table
    t = t.assign(expected_attainment=t["expected_attainment"].astype(float),
                 shown=t["name"].fillna(t["unit_id"]).astype(str))
    return t[np.isfinite(t["expected_attainment"])][
        ["shown", "quota", "history", "potential", "expected_attainment"]]


def chart_fairness(fair, title: str) -> alt.Chart:
    """Expected attainment (trailing bookings / quota) per unit, sorted, with the 100% and 80%
    lines: the spread shows how fair the split is. The units are the named dataset
    ``units`` (so a live update only swaps the data)."""
    t = fairness_frame(fair)
    bars = alt.Chart(alt.Data(name="units")).mark_bar().encode(
        x=alt.X("shown:N", sort="-y", title=None, axis=alt.Axis(labels=len(t) <= 40)),
        y=alt.Y("expected_attainment:Q", title="expected attainment", axis=alt.Axis(format="%")),
        color=alt.condition("datum.expected_attainment >= 1", alt.value("#2e7d32"),
                            alt.value("#c62828")),
        tooltip=["shown:N", alt.Tooltip("quota:Q", format=",.0f"),
                 alt.Tooltip("history:Q", format=",.0f"),
                 alt.Tooltip("potential:Q", format=",.0f"),
                 alt.Tooltip("expected_attainment:Q", format=".0%")])
    rules = alt.Chart(pd.DataFrame({"y": [1.0, 0.8]})).mark_rule(strokeDash=[4, 4]).encode(
        y="y:Q")
    return (bars + rules).properties(title=title, width=480, height=220,
                                     datasets={"units": vega_records(t)})


class QuotaAllocator(StepWidget):
    """Method, blend weights, growth, over-assignment per level, target, overrides (locks);
    the fairness chart and the quota table re-render on every change. Decisions are the
    plan-wide keys of section ``quotas`` (:func:`quotas.load_quotas` reads them): ``target``
    is the company's, so every scope shows its part of the company split - a region or
    territory its quota there (as its target) split over its territories / reps, a rep its
    quota among all reps - exactly as the plan document does."""

    section = "quotas"
    title = "Quota allocator"

    def key(self, name: str) -> str:
        return name  # the quota decisions are plan-wide (quotas.load_quotas)

    def build(self) -> None:
        import ipywidgets as W

        self.quotas = quotas
        dec = quotas.load_quotas(self.ws)
        self.account_note = ""
        if self.scope.level == "account":  # accounts carry no quota: show their territory's
            self.account_note, self.scope = account_territory(self.ws, self.scope)
            self.account_note = "accounts carry no quota; " + self.account_note
        if self.scope.level not in CHILD:
            raise ConfigError(f"{self.scope.level} scopes carry no quota (quotas are split to "
                              "regions, territories and reps); open the quota allocator for "
                              "the company, a region, a territory or a rep")
        self.level = CHILD[self.scope.level]
        self.bind("method", W.Dropdown(options=quotas.METHODS, value=dec.method,
                                       description="Method"))
        w_hist = float(dec.weights.get("history", 0.5)) / (sum(dec.weights.values()) or 1.0)
        self.bind("weights", W.FloatSlider(value=w_hist, min=0, max=1, step=0.05,
                                           description="Blend: history", readout_format=".0%",
                                           continuous_update=False),
                  convert=lambda w: {"history": round(float(w), 4),
                                     "potential": round(1 - float(w), 4)})
        if isinstance(self.saved("weights"), dict):  # stored as a dict, shown as the share
            self.controls["weights"][0].value = w_hist
        self.bind("growth", W.FloatSlider(value=dec.growth, min=0.8, max=1.6, step=0.01,
                                          description="Growth (x prior)", readout_format=".0%",
                                          continuous_update=False))
        self.bind("target", W.FloatText(value=float(dec.target or 0.0),
                                        description="Company target USD (0 = default)"),
                  convert=lambda v: float(v) if v else None)
        self.oa_sliders = {}
        for lvl in ("region", "territory", "rep"):
            s = W.FloatSlider(value=float(dec.over_assignment.get(lvl, 0.0)), min=0.0, max=0.5,
                              step=0.01, description=f"Over-assign {lvl}", readout_format=".0%",
                              continuous_update=False)
            s.add_class(f"salesplan-oa-{lvl}")
            s.style.description_width = "170px"
            s.layout.width = "480px"
            s.observe(lambda ch, lv=lvl: self.set_over_assignment(lv, ch["new"]), names="value")
            self.oa_sliders[lvl] = s
        self.unit = W.Dropdown(options=[], description="Unit")
        self.amount = W.FloatText(value=0.0, description="Quota USD")
        self.lock_button = W.Button(description="Lock quota")
        self.lock_button.on_click(lambda _b: self.override(self.unit.value, self.amount.value))
        self.unlock_button = W.Button(description="Unlock")
        self.unlock_button.on_click(lambda _b: self.override(self.unit.value, None))
        self.show_level = W.Dropdown(options=["region", "territory", "rep"], value=self.level,
                                     description="Show level")
        self.show_level.observe(lambda ch: self._show_level(ch["new"]), names="value")

    def extra(self) -> list:
        import ipywidgets as W

        return [W.VBox(list(self.oa_sliders.values())),
                W.HBox([self.unit, self.amount, self.lock_button, self.unlock_button]),
                self.show_level]

    def _show_level(self, level: str) -> None:
        self.level = level
        self.refresh()

    def decisions(self):
        """The saved decisions with the change being applied on top."""
        dec = self.quotas.load_quotas(self.ws)
        for k, v in self._pending.items():
            setattr(dec, k, v)
        return dec

    def set_over_assignment(self, level: str, value: float) -> None:
        """Set the over-assignment of ``level`` (fraction, e.g. 0.15) and re-split."""
        if self._loading:
            return
        if self.oa_sliders[level].value != value:
            self.oa_sliders[level].value = value
            return
        oa = dict(self.decisions().over_assignment)
        oa[level] = round(float(value), 4)
        self.commit("over_assignment", oa)

    def override(self, unit: str | None, amount: float | None) -> None:
        """Lock ``unit`` ("level:id") at ``amount`` USD; ``None`` unlocks it."""
        if not unit:
            return
        ov = dict(self.decisions().overrides)
        if amount is None:
            ov.pop(unit, None)
        else:
            if not (np.isfinite(amount) and amount >= 0):
                self.error(f"quota for {unit} must be a non-negative amount in USD")
                return
            ov[unit] = float(amount)
        self._pending["overrides"] = ov  # preview first; store only when the plan computes
        try:
            if self.refresh():
                self.quotas.set_override(self.ws, unit, amount, by=self.by)
        except SalesplanError as exc:
            self.error(str(exc))
        finally:
            self._pending.pop("overrides", None)

    def compute(self) -> dict:
        dec = self.decisions()
        if dec.method == "growth":
            dec.target = None  # growth derives the target
        # the decisions (target, overrides) are the company's: split the company, then show
        # this scope's part of it
        # with the hiring plan's to-be-hired seats and planned productivity, as the document
        cs = capacity.load_capacity_settings(self.ws)
        company = self.quotas.quotas_from(self.ws.data, dec, None, self.period,
                                          hires=cs.pop("hires"), capacity_settings=cs,
                                          books=self.quotas.accepted_books(self.ws))
        plan, only, own, lvl = company, None, None, self.scope.level
        if lvl != "company":
            sub = self.quotas.subtree(company, lvl, self.scope.id)
            own = sub.target if sub is not None else None
            if sub is not None and lvl != "rep":
                plan = sub
            else:  # a rep (nothing below it), or a unit without a quota (an empty table):
                only = self.scope.id  # the unit among its level in the company split
        level = lvl if only else (self.level if self.level in set(plan.table["level"])
                                  else plan.leaf_level)
        if level is None:
            raise ConfigError(f"no units below {self.scope.label} to split a quota across"
                              + (f": {company.note}" if company.note else ""))
        fair = self.quotas.fairness(plan, level)
        if self.interactive and hasattr(self, "unit"):
            units = plan.table[plan.table["level"] != "company"]
            self.unit.options = [(f"{r.level} {r.name}", f"{r.level}:{r.unit_id}")
                                 for r in units.itertuples()]
        return {"plan": plan, "fair": fair, "level": level, "decisions": dec, "only": only,
                "company": company, "own": own}

    def summary(self, result: dict) -> str:
        plan, fair, dec = result["plan"], result["fair"], result["decisions"]
        oa = dec.over_assignment.get(result["level"], 0.0)
        company = result["company"]
        own = result["own"]
        if self.scope.level == "company":
            head = f"target {plan.target:,.0f} USD ({dec.method})"
        elif own is None:
            head = (f"{self.scope.label} has no quota in the company split for "
                    f"{self.period.label} (not a quota-carrying unit then); company target "
                    f"{company.target:,.0f} USD ({dec.method})")
        else:
            head = (f"{self.scope.label}: quota {own:,.0f} USD, its part of the company target "
                    f"{company.target:,.0f} USD ({dec.method})")
        if self.account_note:
            head = f"{self.account_note}. {head}"
        return html.escape(
            f"{head}; {result['level']} over-assignment "
            f"{oa:.0%}; {fair.n} {PLURAL[result['level']]}: {fair.share_100:.0%} expected to reach "
            f"100%, {fair.share_80:.0%} 80%; CV quota/potential {fair.cv_quota_per_potential:.2f}"
            + (f"; {company.note}" if company.note else ""))

    def _title(self, result: dict) -> str:
        dec, lvl, fair = result["decisions"], result["level"], result["fair"]
        oa = dec.over_assignment.get(lvl, 0.0)
        return (f"Fairness by {lvl}: over-assignment {oa:.0%}, {fair.share_100:.0%} expected "
                "to reach 100%")

    def chart(self, result: dict) -> alt.Chart:
        return keep_spec(self, chart_fairness(result["fair"], self._title(result)),
                         tag=result["level"])

    def fast_spec(self, result: dict) -> dict | None:
        """The last spec with the units and title swapped (same level), ~1 ms."""
        return swap_spec(self, {"units": vega_records(fairness_frame(result["fair"]))},
                         self._title(result), tag=result["level"])

    def table(self, result: dict) -> pd.DataFrame:
        t = result["plan"].level(result["level"])
        if result.get("only") is not None:
            t = t[t["unit_id"] == result["only"]]
        return t[["unit_id", "name", "parent", "weight", "ramp", "locked", "quota"]]


class TerritoryBalancer(StepWidget):
    """Balance accounts across the scope's units per seat (reps employed now plus the hiring
    plan's to-be-hired seats): tolerance slider, lock / unlock accounts, "Accept moves"
    records them (:func:`territories.save_territories`; the quotas step then splits on the
    books after the moves). Moves stay within each region unless "Allow cross-region moves"
    is ticked. The chart shows potential per seat vs the region's mean (tolerance band); the
    summary the per-seat spread before / after and the disruption in dollars."""

    section = "territories"
    title = "Territory balancer"

    def key(self, name: str) -> str:
        return name  # territories.load_territories reads plan-wide keys

    def build(self) -> None:
        import ipywidgets as W

        self.territories = territories
        saved = territories.load_territories(self.ws)
        self.bind("tolerance", W.FloatSlider(value=saved["tolerance"], min=0.01, max=0.5,
                                             step=0.01, description="Tolerance +-",
                                             readout_format=".0%", continuous_update=False))
        self.bind("cross_region", W.Checkbox(value=False, description="Allow cross-region "
                                             "moves", indent=False))
        self.account = W.Dropdown(options=[], description="Account")
        self.lock_button = W.Button(description="Lock")
        self.lock_button.on_click(lambda _b: self.lock(self.account.value, True))
        self.unlock_button = W.Button(description="Unlock")
        self.unlock_button.on_click(lambda _b: self.lock(self.account.value, False))
        self.accept_button = W.Button(description="Accept moves", button_style="success")
        self.accept_button.on_click(lambda _b: self.accept())

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([self.account, self.lock_button, self.unlock_button]),
                self.accept_button]

    def locked(self) -> list[str]:
        return list(self._pending.get("locked", self.territories.load_territories(self.ws)
                                      ["locked"]))

    def lock(self, account_id: str | None, on: bool = True) -> None:
        """Lock (never move) or unlock an account, then re-balance."""
        if not account_id:
            return
        locked = set(self.locked())
        locked = locked | {account_id} if on else locked - {account_id}
        self.commit("locked", sorted(locked))

    def accept(self) -> None:
        """Record the proposed moves, locks and tolerance as the plan's decision."""
        self.territories.save_territories(self.ws, self.result, by=self.by)
        self.refresh()

    def compute(self):
        tol = float(self.saved("tolerance", self.territories.DEFAULT_TOLERANCE))
        wtol = self.saved("workload_tolerance")
        hires = capacity.load_capacity_settings(self.ws).get("hires") or []
        plan = self.territories.rebalance(
            self.ws.data, self.scope, tolerance=tol, locked=self.locked(), time_limit=5.0,
            workload_tolerance=None if wtol is None else float(wtol), hires=hires,
            period=self.period, cross_region=bool(self.saved("cross_region", False)))
        if self.interactive and hasattr(self, "account"):
            a = plan.assignment.head(2000)
            options = tuple((f"{n} ({c})", str(i)) for n, c, i in
                            zip(a["name"], a["current"], a["account_id"]))
            if options != tuple(self.account.options):  # a slider move rarely changes them
                self.account.options = options
        return plan

    def summary(self, plan) -> str:
        return html.escape(self.territories.summary_text(plan))

    @staticmethod
    def _title(plan) -> str:
        what = "seat" if plan.summary.get("basis") == "per seat" else plan.unit_level
        return f"Potential per {what} vs mean (+-{plan.tolerance:.0%})"

    def chart(self, plan):
        return keep_spec(self, self.territories.chart_balance(plan).properties(
            title=self._title(plan)) if len(plan.balance) else None)

    def fast_spec(self, plan) -> dict | None:
        """The shown spec with the bars' data (``plan.balance``), the tolerance band's and the
        title swapped (~1 ms instead of ~35 ms of Altair). The datasets keep the names
        Altair gave them in the first spec."""

        spec = getattr(self, "_spec", None)
        if spec is None or not len(plan.balance):
            return None
        try:
            bars, band = (spec["layer"][i]["data"]["name"] for i in (0, 1))
        except (KeyError, IndexError, TypeError):
            return None
        if bars == band:
            return None
        tol = pd.DataFrame({"lo": [1 - plan.tolerance], "hi": [1 + plan.tolerance]})
        return swap_spec(self, {bars: vega_records(plan.balance), band: vega_records(tol)},
                         self._title(plan))

    def table(self, plan) -> pd.DataFrame:
        moves = plan.moves
        return moves[["account_id", "name", "segment", "potential", "open_pipeline", "current",
                      "proposed"]] if len(moves) else plan.balance


class BudgetAllocator(StepWidget):
    """Budget (USD) and cost per rep; the allocation across the tactics' channels (never
    below their committed spend), the saved investments and the capacity plan's headcount
    (fixed), with marginal ROI; "Accept" records it (:func:`resources.save_resources`)."""

    section = "resources_ui"
    title = "Budget allocator"

    def build(self) -> None:
        import ipywidgets as W

        self.resources = resources
        saved = resources.load_resources(self.ws)
        cost = 150_000.0
        # no budget recorded yet: current spend + 10% (the capacity plan's headcount and the
        # committed tactics always fit; a fixed default could sit below them)
        budget = saved["budget"] or resources.current_plus(resources.workspace_investments(
            self.ws, cost_per_rep=cost, investments=self.investments(), scope=self.scope))
        self.bind("budget", W.FloatText(value=float(budget), description="Budget USD"))
        self.bind("cost_per_rep", W.FloatText(value=cost, description="Cost / rep USD"))
        self.accept_button = W.Button(description="Accept allocation", button_style="success")
        self.accept_button.on_click(lambda _b: self.accept())

    def extra(self) -> list:
        return [self.accept_button]

    def investments(self) -> list:
        """The saved lines but headcount (recomputed from the capacity plan)."""
        return [i for i in self.resources.load_resources(self.ws)["investments"]
                if i.kind != "headcount"]

    def accept(self) -> None:
        inv = getattr(self, "_lines", None) or self.investments()
        self.resources.save_resources(self.ws, self.result, inv, by=self.by)
        self.refresh()

    def compute(self):
        v = self.values()
        alloc, self._lines = self.resources.from_workspace(
            self.ws, budget=float(v["budget"]), cost_per_rep=float(v["cost_per_rep"]) or None,
            investments=self.investments(), scope=self.scope)
        return alloc

    def summary(self, alloc) -> str:
        return html.escape(f"budget {alloc.budget:,.0f} USD: return {alloc.total_return:,.0f} "
                           f"USD vs {alloc.current_return:,.0f} USD with the current split"
                           + (f" ({alloc.note})" if alloc.note else ""))

    def chart(self, alloc):
        return self.resources.chart_allocation(alloc) if len(alloc.table) else None

    def table(self, alloc) -> pd.DataFrame:
        return alloc.table
