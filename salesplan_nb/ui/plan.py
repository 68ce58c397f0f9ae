"""Widgets for steps 5, 6 and 8: capacity sliders, ICP weights and segment ranking, tactics
editor."""

from __future__ import annotations

import html

import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.formats import money
from salesplan_nb.steps import capacity, segments, strategy
from salesplan_nb.steps.capacity import vega_records
from salesplan_nb.ui import StepWidget

__all__ = ["CapacitySliders", "IcpSegments", "TacticsEditor"]


class CapacitySliders(StepWidget):
    """Attrition, backfill lag, ramp shares and planned hires (section ``capacity``, the same
    company-wide keys :func:`capacity.load_capacity_settings` reads); the chart of RRE and
    capacity vs target re-renders on every move."""

    section = "capacity"
    title = "Sales capacity"

    def key(self, name: str) -> str:
        return name  # capacity settings are plan-wide (capacity.load_capacity_settings)

    def build(self) -> None:
        import ipywidgets as W

        self.capacity = capacity
        s = capacity.load_capacity_settings(self.ws)
        pct = {"readout_format": ".0%", "continuous_update": False, "step": 0.01}
        self.bind("attrition", W.FloatSlider(value=s["attrition"], min=0.0, max=0.6,
                                             description="Attrition / yr", **pct))
        self.bind("backfill_lag", W.IntSlider(value=s["backfill_lag"], min=0, max=12,
                                              description="Backfill lag (m)",
                                              continuous_update=False))
        steps = list(s["ramp"].steps) + [(0, 1.0)] * max(0, 3 - len(s["ramp"].steps))
        self.ramp_sliders = []
        prev = 0
        for upto, share in steps[:3]:
            sl = W.FloatSlider(value=float(share), min=0.0, max=1.0,
                               description=f"Ramp {prev:g}-{upto:g} m", **pct)
            sl.observe(lambda _c: self.set_ramp(), names="value")
            self.ramp_sliders.append((upto, sl))
            prev = upto
        self.hire_month = W.Text(value=str(self.period.months()[0]), description="Hire month")
        self.hire_count = W.IntText(value=1, description="Hires")
        self.hire_button = W.Button(description="Add hires")
        self.hire_button.on_click(lambda _b: self.add_hires(self.hire_month.value,
                                                            self.hire_count.value))
        self.clear_button = W.Button(description="Clear hires")
        self.clear_button.on_click(lambda _b: self.set_hires([]))

    def extra(self) -> list:
        import ipywidgets as W

        return [W.VBox([sl for _, sl in self.ramp_sliders]),
                W.HBox([self.hire_month, self.hire_count, self.hire_button, self.clear_button])]

    def set_ramp(self) -> None:
        if self._loading:
            return
        self.commit("ramp", [[float(upto), float(sl.value)] for upto, sl in self.ramp_sliders
                             if upto])

    def settings(self) -> dict:
        """:func:`capacity.load_capacity_settings` with the change being applied on top."""
        s = self.capacity.load_capacity_settings(self.ws)
        for k, v in self._pending.items():
            if k == "ramp":
                s[k] = self.capacity.RampCurve.parse(v)
            elif k == "hires":
                s[k] = [self.capacity.Hire.parse(h) for h in v]
            else:
                s[k] = v
        return s

    def hires(self) -> list:
        return self.settings()["hires"]

    def set_hires(self, hires: list) -> None:
        self.commit("hires", [dict(self.capacity.Hire.parse(h).__dict__) for h in hires])

    def add_hires(self, month: str, count: int) -> None:
        """Plan ``count`` hires starting in ``month`` (YYYY-MM) in this scope."""
        scope = {self.scope.level: self.scope.id} if self.scope.level in ("region",
                                                                         "territory") else {}
        try:
            hire = self.capacity.Hire(month, count, **scope)
        except ConfigError as exc:
            self.error(str(exc))
            return
        self.set_hires([*self.hires(), hire])

    def compute(self):
        return self.capacity.capacity_plan(self.ws.data, self.scope, self.period,
                                           **self.settings())

    def summary(self, plan) -> str:
        hires = "n/a" if plan.hires_needed is None else f"{plan.hires_needed:g}"
        return html.escape(f"capacity {money(plan.capacity)} vs target {money(plan.target)};"
                           f" gap {money(plan.gap)}; hires needed {hires}"
                           + (f" ({plan.note})" if plan.note else ""))

    def chart(self, plan):
        return keep_spec(self, self.capacity.chart_capacity(plan))

    def fast_spec(self, plan) -> dict | None:
        """The shown spec with its ``rre`` / ``usd`` datasets and title swapped (~1 ms
        instead of ~50 ms of Altair chart construction)."""
        return swap_spec(self, {k: self.capacity.vega_records(v)
                                for k, v in self.capacity.capacity_frames(plan).items()},
                         self.capacity.capacity_title(plan))

    def table(self, plan) -> pd.DataFrame:
        return plan.summary()


def _showing(widget: StepWidget) -> bool:
    """True when the widget's live chart is on screen (a fast-path spec update shows)."""
    return widget.chart_view is not None and widget.chart_box.children == (widget.chart_view,)


def keep_spec(widget: StepWidget, chart, tag=None):
    """Remember ``chart``'s Vega-Lite spec (live widgets only) as the base of
    :func:`swap_spec`, with ``tag`` (what must stay the same for a swap, e.g. the level);
    ``None`` forgets it. Returns ``chart``."""
    widget._spec = chart.to_dict(validate=False) if chart is not None and widget.interactive \
        else None
    widget._spec_tag = tag
    return chart


def swap_spec(widget: StepWidget, datasets: dict[str, list], title: str | None = None,
              tag=None) -> dict | None:
    """The widget's fast path: the shown spec with its named ``datasets`` (and ``title``)
    swapped, ~1 ms instead of tens of ms of Altair chart construction; remembered for the next
    swap. ``None`` (build the chart) when no spec is kept, the chart is not on screen or
    ``tag`` differs from the kept one."""
    spec = getattr(widget, "_spec", None)
    if spec is None or not _showing(widget) or getattr(widget, "_spec_tag", None) != tag:
        return None
    spec = {**spec, "datasets": {**spec["datasets"], **datasets}}
    if title is not None:
        spec["title"] = title
    widget._spec = spec
    return spec


def _weight_sliders(W, names, values: dict, maximum: float, step: float, fmt: str) -> dict:
    return {n: W.FloatSlider(value=float(values.get(n, 0.0)), min=0.0, max=maximum, step=step,
                             description=n.replace("_", " "), readout_format=fmt,
                             continuous_update=False) for n in names}


class IcpSegments(StepWidget):
    """Segment attractiveness weights and account fit weights (plan-wide keys
    ``attractiveness_weights`` / ``fit_weights`` of section ``segments``); the ranking and
    the fit chart re-render on every move. "Target top 3" records the target segments."""

    section = "segments"
    title = "ICP & segments"

    def key(self, name: str) -> str:
        return name  # segments.load_weights reads plan-wide keys

    def build(self) -> None:
        import ipywidgets as W

        self.segments = segments
        self.att = _weight_sliders(W, segments.CRITERIA, segments.load_weights(self.ws), 1.0,
                                   0.05, ".2f")
        self.fit = _weight_sliders(W, segments.FIT_FACTORS,
                                   segments.load_weights(self.ws, "fit"), 100.0, 5.0, ".0f")
        for s in self.att.values():
            s.observe(lambda _c: self._weights("attractiveness_weights", self.att), names="value")
        for s in self.fit.values():
            s.observe(lambda _c: self._weights("fit_weights", self.fit), names="value")
        self.target_button = W.Button(description="Target top 3 segments")
        self.target_button.on_click(lambda _b: self.target_top(3))

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([W.VBox([W.HTML("<b>Segment attractiveness weights</b>"),
                                *self.att.values()]),
                        W.VBox([W.HTML("<b>Account fit weights</b>"), *self.fit.values()])]),
                self.target_button]

    def _weights(self, key: str, sliders: dict) -> None:
        if not self._loading:
            self.commit(key, {n: float(s.value) for n, s in sliders.items()})

    def weights(self, kind: str) -> dict:
        key = f"{kind}_weights"
        return dict(self._pending[key]) if key in self._pending else \
            self.segments.load_weights(self.ws, kind)

    def target_top(self, n: int = 3) -> list[dict]:
        """Record the ``n`` most attractive segments as the plan's target segments."""
        r = self.result["ranking"].head(n)
        keys = [c for c in ("segment", "region") if c in r.columns]
        chosen = [{k: str(v) for k, v in row.items()} for row in r[keys].to_dict("records")]
        self.segments.save_targets(self.ws, chosen, by=self.by)
        self.refresh()
        return chosen

    def compute(self) -> dict:
        ranking = self.segments.segment_ranking(self.ws.data, self.scope, self.period,
                                                weights=self.weights("attractiveness"))
        fit = self.segments.fit_scores(self.ws.data, self.scope, self.period,
                                       weights=self.weights("fit"))
        return {"ranking": ranking, "fit": fit,
                "targets": self.segments.load_targets(self.ws)}

    def summary(self, result: dict) -> str:
        r = result["ranking"]
        top = " / ".join(str(v) for v in r.iloc[0][[c for c in ("segment", "region")
                                                    if c in r.columns]]) if len(r) else "none"
        targets = "; ".join(" / ".join(t.values()) for t in result["targets"]) or "none yet"
        note = r.attrs.get("note", "")
        return html.escape(f"{len(r)} segments ranked; most attractive: {top}; target "
                           f"segments: {targets}" + (f" ({note})" if note else ""))

    FIT_TOP = 15  # accounts in the fit chart

    def _datasets(self, result: dict) -> dict[str, list]:
        """The charts' named datasets: ``segments`` (ranking) and ``fit`` (top accounts),
        each only when it has rows."""

        seg, out = self.segments, {}
        if len(result["ranking"]):
            out["segments"] = vega_records(seg.segments_frame(result["ranking"]))
        if len(result["fit"]):
            out["fit"] = vega_records(seg.fit_frame(result["fit"], self.FIT_TOP))
        return out

    def chart(self, result: dict):
        import altair as alt

        data = self._datasets(result)
        charts = []
        if "segments" in data:
            charts.append(self.segments.chart_segments(result["ranking"], dataset="segments"))
        if "fit" in data:
            charts.append(self.segments.chart_fit(result["fit"], top=self.FIT_TOP,
                                                  dataset="fit"))
        return keep_spec(self, alt.hconcat(*charts).properties(datasets=data)
                         if charts else None)

    def fast_spec(self, result: dict) -> dict | None:
        """The shown spec with the ``segments`` / ``fit`` datasets swapped, while the same
        charts are shown (~2 ms instead of ~40 ms of Altair)."""
        spec = getattr(self, "_spec", None)
        data = self._datasets(result)
        if spec is None or set(data) != set(spec["datasets"]) & {"segments", "fit"}:
            return None  # a chart appears or disappears: build it
        return swap_spec(self, data)

    def table(self, result: dict) -> pd.DataFrame:
        r = result["ranking"]
        keys = [c for c in ("segment", "region") if c in r.columns]
        return r[[*keys, "potential", "win_rate", "avg_deal", "cycle_days", "decided", "score",
                  "rank"]]


class TacticsEditor(StepWidget):
    """The tactic register: add, edit and remove tactics (section ``tactics``, list items via
    :mod:`salesplan_nb.steps.strategy`); the Gantt of tactics and the budget by category
    re-render on every change."""

    section = "tactics"
    title = "Strategy & tactics"

    def build(self) -> None:
        import ipywidgets as W

        self.strategy = strategy
        first = self.period.start.date().isoformat()
        last = (self.period.end - pd.Timedelta(days=1)).date().isoformat()
        self.form = {
            "name": W.Text(description="Tactic"),
            "category": W.Dropdown(options=strategy.CATEGORIES, description="Category"),
            "driver": W.Dropdown(options=list(strategy.DRIVER_UNITS), description="Driver"),
            "effect": W.FloatText(value=0.0, description="Effect"),
            "start": W.Text(value=first, description="Start"),
            "end": W.Text(value=last, description="End"),
            "segment": W.Text(description="Segment"),
            "owner": W.Text(description="Owner"),
            "budget": W.FloatText(value=0.0, description="Budget USD"),
        }
        self.unit_label = W.HTML()
        self.form["driver"].observe(lambda _c: self._unit(), names="value")
        self._unit()
        self.pick = W.Dropdown(options=[("(new tactic)", "")], description="Edit")
        self.pick.observe(lambda ch: self.load_form(ch["new"]), names="value")
        self.save_button = W.Button(description="Save tactic", button_style="success")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.remove_button = W.Button(description="Remove", button_style="danger")
        self.remove_button.on_click(lambda _b: self.remove(self.pick.value))

    def _unit(self) -> None:
        unit = self.strategy.DRIVER_UNITS[self.form["driver"].value]
        self.unit_label.value = html.escape(f"effect unit: {unit} (win_rate in percentage "
                                            "points, deal_size / pipeline in %, cycle in days)")

    def extra(self) -> list:
        import ipywidgets as W

        f = self.form
        return [self.pick, W.HBox([f["name"], f["category"]]),
                W.HBox([f["driver"], f["effect"], self.unit_label]),
                W.HBox([f["start"], f["end"]]), W.HBox([f["segment"], f["owner"], f["budget"]]),
                W.HBox([self.save_button, self.remove_button])]

    def load_form(self, tactic_id: str) -> None:
        for t in self.strategy.load_tactics(self.ws):
            if t.id == tactic_id:
                for k, w in self.form.items():
                    w.value = getattr(t, k)

    def _save_clicked(self) -> None:
        values = {k: w.value for k, w in self.form.items()}
        try:
            self.save(values, self.pick.value or None)
        except ConfigError as exc:
            self.error(str(exc))

    def save(self, values: dict, tactic_id: str | None = None):
        """Add (or, with ``tactic_id``, update) a tactic for this scope; validation errors
        from :class:`strategy.Tactic` name the field."""
        t = self.strategy.Tactic(**values, scope=str(self.scope), id=tactic_id)
        t = self.strategy.save_tactic(self.ws, t, by=self.by)
        self.refresh()
        return t

    def remove(self, tactic_id: str | None) -> None:
        if tactic_id:
            self.strategy.remove_tactic(self.ws, tactic_id)
            self.refresh()

    def compute(self) -> list:
        tactics = [t for t in self.strategy.load_tactics(self.ws) if t.scope == str(self.scope)]
        if self.interactive and hasattr(self, "pick"):
            self.pick.options = [("(new tactic)", "")] + [(t.name, t.id) for t in tactics]
        return tactics

    def summary(self, tactics: list) -> str:
        budget = sum(t.budget for t in tactics)
        return html.escape(f"{len(tactics)} tactic(s), budget {budget:,.0f} USD")

    def chart(self, tactics: list):
        return self.strategy.chart_tactics(tactics) if tactics else None

    def table(self, tactics: list) -> pd.DataFrame:
        return self.strategy.tactics_table(tactics).drop(columns=["id", "scope"])
