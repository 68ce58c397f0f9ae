"""Widgets for what-if and monitoring: the scenario manager and the review tracker."""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period
from salesplan_nb.steps import monitor, scenarios
from salesplan_nb.ui import StepWidget, account_territory

__all__ = ["ScenarioManager", "ReviewTracker"]

SLIDER_DRIVERS = ("pipeline", "win_rate", "deal_size", "cycle", "headcount", "price", "spend")


class ScenarioManager(StepWidget):
    """Pick a scenario (base / best / worst / saved), clone it, move driver sliders (relative
    change for this scope), compare with base and see the tornado. The edited scenario is
    saved in ``scenarios`` (key = its name) on every change; the selection in
    ``scenario_ui``."""

    section = "scenario_ui"
    title = "Scenario manager"

    def __init__(self, ws, scope=None, period=None, *, scenario: str | None = None,
                 **kwargs) -> None:
        self.requested = scenario
        super().__init__(ws, scope, period, **kwargs)

    def build(self) -> None:
        import ipywidgets as W

        self.account_note = ""
        if self.scope.level == "account":  # the model plans seats (reps), not accounts
            self.account_note, self.scope = account_territory(self.ws, self.scope)
        # the workspace's model (the plan's quotas, seats, ramp, attrition), its base = the
        # scope's forecast (the plan document's number)
        self.model = scenarios.calibrate_to_forecast(
            scenarios.from_workspace(self.ws, self.period), self.scope, data=self.ws.data)
        self.scenarios = {**scenarios.presets(self.model), **scenarios.load_scenarios(self.ws)}
        selected = self.requested or self.saved("selected") or "base"
        if selected not in self.scenarios:
            raise ConfigError(f"no scenario {selected!r}; saved ones: "
                              f"{', '.join(self.scenarios)}")
        self.selector = W.Dropdown(options=list(self.scenarios), value=selected,
                                   description="Scenario")
        self.selector.observe(lambda ch: self.select(ch["new"]), names="value")
        self.sliders = {}
        for drv in SLIDER_DRIVERS:
            s = W.FloatSlider(value=0.0, min=-0.5, max=0.5, step=0.01, description=drv,
                              readout_format="+.0%", continuous_update=False)
            s.observe(lambda ch, d=drv: self.set_driver(d, ch["new"]), names="value")
            self.sliders[drv] = s
        self.new_name = W.Text(placeholder="new scenario name", description="Clone as")
        self.clone_button = W.Button(description="Clone")
        self.clone_button.on_click(lambda _b: self.clone(self.new_name.value))
        self.tornado_button = W.Button(description="Update tornado")
        self.tornado_button.on_click(lambda _b: self.refresh(tornado=True))
        self._tornado = None  # (scenario name, changes) it was computed for, frame
        self._sync_sliders()

    def extra(self) -> list:
        import ipywidgets as W

        return [self.selector, W.HBox([self.new_name, self.clone_button]),
                W.VBox(list(self.sliders.values())), self.tornado_button]

    @property
    def current(self) -> scenarios.Scenario:
        return self.scenarios[self.selector.value]

    def _own(self, sc: scenarios.Scenario) -> dict[str, float]:
        """This scope's whole-period change per driver in ``sc``."""
        out: dict[str, float] = {}
        for c in sc.changes:
            if c.scope == str(self.scope) and c.start is None and c.end is None \
                    and not c.source:
                out[c.driver] = c.value
        return out

    def _sync_sliders(self) -> None:
        own = self._own(self.current)
        self._loading = True
        try:
            for drv, s in self.sliders.items():
                s.value = float(own.get(drv, 0.0))
        finally:
            self._loading = False

    def select(self, name: str) -> None:
        if name not in self.scenarios:
            raise ConfigError(f"no scenario {name!r}; choose one of {', '.join(self.scenarios)}")
        if self.selector.value != name:
            self.selector.value = name
            return
        self.ws.record(self.section, self.key("selected"), name, by=self.by)
        self._sync_sliders()
        self.refresh(tornado=True)

    def clone(self, name: str) -> scenarios.Scenario:
        """Copy the current scenario under ``name`` (saved) and select it."""
        name = (name or "").strip()
        if not name or name in self.scenarios:
            self.error(f"give the clone a new name (not one of {', '.join(self.scenarios)})")
            return self.current
        sc = self.current.clone(name)
        self.scenarios[name] = sc
        scenarios.save_scenario(self.ws, sc, by=self.by)
        self.selector.options = list(self.scenarios)
        self.select(name)
        return sc

    def set_driver(self, driver: str, value: float) -> None:
        """Set this scope's whole-period change of ``driver`` in the current scenario (a
        preset edited is saved under its own name)."""
        if self._loading:
            return
        if self.sliders[driver].value != value:
            self.sliders[driver].value = value
            return
        sc = self.current
        keep = [c for c in sc.changes if not (c.driver == driver and c.scope == str(self.scope)
                                               and c.start is None and c.end is None
                                               and not c.source)]
        if value:
            keep.append(scenarios.Change(driver, float(value), str(self.scope)))
        sc = scenarios.Scenario(sc.name, keep, sc.description)
        self.scenarios[sc.name] = sc
        if self.refresh():  # chart first, then plan.yaml
            scenarios.save_scenario(self.ws, sc, by=self.by)

    def refresh(self, tornado: bool = False):
        """Recompute; the tornado (18 recomputes) only on ``tornado=True``, a new selection or
        in static mode, so a slider move stays fast."""
        self._want_tornado = tornado or self._tornado is None or not self.interactive
        return super().refresh()

    def compute(self) -> dict:
        base = self.scenarios.get("base", scenarios.Scenario("base"))
        cur = self.current
        runs = {"base": self.model.recompute(base)}
        if cur.name != "base":
            runs[cur.name] = self.model.recompute(cur)
        table = scenarios.compare(self.model, [base, cur] if cur.name != "base" else [base],
                                  self.scope)
        if self._want_tornado:
            self._tornado = (cur.to_dict(), scenarios.sensitivity(self.model, cur, 0.10,
                                                                  self.scope))
        stale = self._tornado[0] != cur.to_dict()
        return {"runs": runs, "compare": table, "tornado": self._tornado[1],
                "tornado_stale": stale}

    def summary(self, result: dict) -> str:
        t = result["compare"]
        b = t.loc["bookings"]
        parts = [f"{name}: {b[name]:,.0f} USD" for name in result["runs"]]
        stale = " (tornado not yet updated for the last change)" if result["tornado_stale"] \
            else ""
        note = f"{self.account_note}. " if self.account_note else ""
        return html.escape(f"{note}{self.scope.label} bookings - " + "; ".join(parts) + stale)

    def chart(self, result: dict) -> alt.TopLevelMixin:
        line = scenarios.chart_compare(result["runs"], self.scope)
        return alt.hconcat(line, scenarios.chart_tornado(result["tornado"]))

    def table(self, result: dict) -> pd.DataFrame:
        return result["compare"].reset_index()


class ReviewTracker(StepWidget):
    """Plan vs actual for the monitored period and the recorded reviews; "Record review"
    stores notes and actions with a snapshot (:func:`monitor.record_review`). ``period`` is
    the monitored period (default: the year of the data's ``as_of``)."""

    section = monitor.SECTION
    title = "Review tracker"

    def __init__(self, ws, scope=None, period=None, **kwargs) -> None:
        self.monitored = Period.parse(period) if period is not None else \
            Period.year(ws.data.as_of.year)
        super().__init__(ws, scope, self.monitored, **kwargs)

    def build(self) -> None:
        import ipywidgets as W

        self.notes = W.Textarea(placeholder="What happened, why, what we change",
                                description="Notes")
        self.actions = W.Text(placeholder="action 1; action 2", description="Actions")
        self.record_button = W.Button(description="Record review", button_style="success")
        self.record_button.on_click(lambda _b: self.record(self.notes.value, self.actions.value))

    def extra(self) -> list:
        return [self.notes, self.actions, self.record_button]

    def record(self, notes: str, actions: str | list[str] = "") -> dict:
        """Store a review for this scope and period; returns the stored item."""
        if isinstance(actions, str):
            actions = [a.strip() for a in actions.split(";") if a.strip()]
        item = monitor.record_review(self.ws, self.scope, self.monitored, notes, actions,
                                     by=self.by)
        self.notes.value, self.actions.value = "", ""
        self.refresh()
        return item

    def compute(self) -> dict:
        pva = monitor.plan_vs_actual(self.ws.data, self.scope, self.monitored)
        return {"pva": pva, "reviews": monitor.reviews(self.ws, self.scope)}

    def summary(self, result: dict) -> str:
        n = len(result["reviews"])
        return html.escape(f"{n} review(s) recorded for {self.scope.label}")

    def chart(self, result: dict):
        return monitor.chart_plan_vs_actual(result["pva"])

    def table(self, result: dict) -> pd.DataFrame:
        df = result["reviews"].drop(columns=["id"])
        df["actions"] = df["actions"].map(lambda a: "; ".join(a) if isinstance(a, list) else a)
        return df
