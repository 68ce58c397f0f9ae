"""Widget framework for the step notebooks.

Every widget is a :class:`StepWidget`: controls bound to keys of one workspace section
(``ws.record(section, key, value)`` on every change, so a batch run reproduces the analyst's
decisions), a ``compute()`` that calls the planning module, and an Altair chart plus a table
re-rendered after each change.

Two display modes, chosen by the notebook's ``interactive`` parameter (papermill sets it to
``False``):

* live (``interactive=True``) - ipywidgets controls, the chart as an offline
  ``alt.JupyterChart`` (vega bundled by vl-convert: no CDN needed), the table as HTML;
* static (``interactive=False``) - the saved state rendered as an SVG chart
  (``image/svg+xml``, drawn by vl-convert) and an HTML table, so executed notebooks and their
  HTML exports never show empty widget boxes.

Front-end assets (anywidget ESM/CSS) live in the repository's ``widgets/`` folder, found next to
the package (editable install) or via ``$SALESPLAN_WIDGETS``.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.core.tables import table_html

__all__ = ["StepWidget", "account_territory", "asset_path", "html_table", "svg_bundle", "static_chart", "show",
           "scope_of", "output_name", "open_plan", "measured_period", "decisions_table",
           "widget_classes"]

_OFFLINE = False


def asset_path(name: str) -> Path:
    """Path of a front-end asset in ``widgets/`` (``$SALESPLAN_WIDGETS`` overrides the folder)."""
    here = Path(__file__).resolve().parents[1]  # the salesplan_nb package
    folders = ([Path(os.environ["SALESPLAN_WIDGETS"])] if os.environ.get("SALESPLAN_WIDGETS")
               else [here.parent / "widgets", here / "widgets"])  # source checkout, wheel
    path = next((f / name for f in folders if (f / name).is_file()), folders[0] / name)
    if not path.is_file():
        raise ConfigError(f"widget asset {path} is missing; install salesplan-nb from a source "
                          "checkout (`pip install -e .`) or set SALESPLAN_WIDGETS to the "
                          "folder holding the widgets/ files")
    return path


def html_table(df: pd.DataFrame | None, max_rows: int = 40) -> str:
    """``df`` as an escaped HTML table, at most ``max_rows`` rows: the one table renderer of
    widgets and plan documents (:func:`salesplan_nb.core.tables.table_html`: headers in words
    with units, money without cents above $1k, rates in %)."""
    if df is None:
        return ""
    if not len(df):
        return "<p><em>no rows</em></p>"
    return table_html(df, max_rows=max_rows, css_class="salesplan-table")


def svg_bundle(chart: alt.TopLevelMixin) -> dict[str, str]:
    """A display bundle with the chart drawn as SVG by vl-convert (no JavaScript needed)."""
    import vl_convert as vlc

    spec = chart.to_json()
    title = chart.to_dict().get("title", "chart")
    return {"image/svg+xml": vlc.vegalite_to_svg(spec),
            "text/plain": f"<chart: {title if isinstance(title, str) else 'chart'}>"}


def static_chart(chart: alt.TopLevelMixin | None) -> None:
    """Display ``chart`` as SVG (static output for papermill / HTML export)."""
    from IPython.display import display

    if chart is not None:
        display(svg_bundle(chart), raw=True)


def scope_of(scope_level: str = "company", unit: str | None = None) -> Scope:
    """The notebook's ``scope_level`` + ``unit`` parameters as a Scope (ConfigError if bad)."""
    level = (scope_level or "company").strip()
    unit = (str(unit).strip() or None) if unit is not None else None
    try:
        return Scope(level, None if level == "company" else unit)
    except ValueError as exc:
        raise ConfigError(f"scope_level={scope_level!r}, unit={unit!r}: {exc}; set unit to a "
                          "region / territory / rep id from the data") from None


def output_name(scope: Scope | str, base: str = "") -> str:
    """A safe workspace output name for ``scope``: ``company`` or ``<level>-<sha1 of id>``
    (ids come from data and never shape a file name), prefixed with ``base``."""
    import hashlib

    sc = Scope.parse(scope)
    tag = "company" if sc.level == "company" else \
        f"{sc.level}-{hashlib.sha1(str(sc.id).encode()).hexdigest()[:10]}"
    return f"{base}{tag}"


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with object columns as text, so Parquet accepts mixed values."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: None if v is None else str(v)).astype("string")
    out.columns = [str(c) for c in out.columns]
    return out.reset_index(drop=True)


def show(obj: Any, interactive: bool = True, title: str = "") -> None:
    """Display a chart or a table: live, an Altair chart as an offline JupyterChart; static, as
    SVG. A DataFrame is an escaped HTML table either way; anything else is displayed as is."""
    from IPython.display import HTML, display

    if title:
        display(HTML(f"<h4>{html.escape(title)}</h4>"))
    if isinstance(obj, alt.TopLevelMixin):
        if interactive:
            _offline()
            display(alt.JupyterChart(obj, embed_options={"renderer": "svg", "actions": False}))
        else:
            static_chart(obj)
    elif isinstance(obj, pd.DataFrame):
        display(HTML(html_table(obj)))
    else:
        display(obj)


def measured_period(ws, period: Period | str | None = None) -> Period:
    """The period actuals are measured over: ``period``, else the year of the data's as_of."""
    return Period.parse(period) if period else Period.year(ws.data.as_of.year)


def decisions_table(ws) -> pd.DataFrame:
    """Every decision in plan.yaml: section, key (or item id), value (short text), by, at."""
    rows = []
    for section, sec in ws.doc["decisions"].items():
        entries = sec.items() if isinstance(sec, dict) else ((i.get("id"), i) for i in sec)
        for key, entry in entries:
            entry = entry if isinstance(entry, dict) else {"value": entry}
            value = entry.get("value", {k: v for k, v in entry.items()
                                        if k not in ("id", "by", "at")})
            text = str(value)
            rows.append({"section": section, "key": str(key),
                         "value": text if len(text) <= 120 else text[:117] + "...",
                         "by": entry.get("by"), "at": entry.get("at")})
    return pd.DataFrame(rows, columns=["section", "key", "value", "by", "at"])


def _offline() -> None:
    global _OFFLINE
    if not _OFFLINE:
        alt.JupyterChart.enable_offline()  # bundles vega-embed once per kernel (~1.5 s)
        _OFFLINE = True


def open_plan(plan_dir: str | Path, *, data: str | None = None, mapping: str | None = None,
              seed: int = 42, **sample_options: Any):
    """Open the plan at ``plan_dir``; when it holds no plan yet create one - from ``data`` (a
    source folder/file, with ``mapping``) or else from the seeded sample - so every step
    notebook runs standalone."""
    from salesplan_nb.data.workspace import PLAN_FILE, Workspace

    path = Path(plan_dir)
    if (path / PLAN_FILE).exists():
        return Workspace.open(path)
    if data:
        import fcntl

        from salesplan_nb.data.workspace import init_plan

        path.mkdir(parents=True, exist_ok=True)
        with open(path / ".create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (path / PLAN_FILE).exists():
                return Workspace.open(path)
            return init_plan(path, data=str(data), mapping=mapping)
    return Workspace.open_or_create_sample(path, seed=seed, **sample_options)


def account_territory(ws, scope: Scope) -> tuple[str, Scope]:
    """(note, territory scope) for an account scope in widgets that plan by territory and
    rep (quotas, scenarios): the account's territory, filled from its deals when blank
    (:func:`segments.scope_accounts`). A ConfigError when it has none."""
    from salesplan_nb.steps.segments import scope_accounts

    terr = scope_accounts(ws.data, scope)["territory"].dropna()
    if not len(terr):
        raise ConfigError(f"{scope.label} has no territory to show; open this widget for the "
                          "company, a region, a territory or a rep")
    t = Scope("territory", str(terr.iloc[0]))
    return f"accounts are planned with their territory: showing {t.label}, the territory of " \
        f"{scope.label}", t


class StepWidget:
    """Base class: controls bound to a workspace section, a chart and a table.

    Subclasses set ``section`` and ``title`` and implement :meth:`build` (create controls
    with :meth:`bind`), :meth:`compute` (call the planning module with :meth:`values`),
    :meth:`chart` and :meth:`table`. Keys are stored per scope: ``name`` for the company,
    ``name:<scope>`` otherwise.
    """

    section = ""
    title = ""

    def __init__(self, ws, scope: Scope | str | None = None, period: Period | str | None = None,
                 *, interactive: bool = True, by: str | None = None) -> None:
        import ipywidgets as W

        self.ws = ws
        self.scope = Scope.parse(scope) if scope is not None else ws.scope
        self.period = Period.parse(period) if period is not None else ws.period
        self.interactive = bool(interactive)
        self.by = by
        self.controls: dict[str, Any] = {}
        self.result: Any = None
        self.last_ms = float("nan")  # duration of the last refresh (compute + render), ms
        self.message = W.HTML()
        self.summary_view = W.HTML()
        self.table_view = W.HTML()
        self.chart_view = None  # alt.JupyterChart, made on first live render
        self.chart_box = W.VBox()  # holds chart_view while there is a chart
        self._box = None
        self._pending: dict[str, Any] = {}
        self._loading = True
        self.build()
        self._loading = False
        self.refresh()

    # ---- subclass API ------------------------------------------------------------------------
    def build(self) -> None:
        """Create controls with :meth:`bind`."""

    def compute(self) -> Any:
        raise NotImplementedError

    def chart(self, result: Any) -> alt.TopLevelMixin | None:
        return None

    def table(self, result: Any) -> pd.DataFrame | None:
        return None

    def summary(self, result: Any) -> str:
        """One line of (escaped) HTML above the chart."""
        return ""

    def extra(self) -> list:
        """Extra live widgets shown under the controls (buttons, editors)."""
        return []

    # ---- binding -------------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return name if self.scope.level == "company" else f"{name}:{self.scope}"

    def saved(self, name: str, default: Any = None) -> Any:
        """The decision ``name``: a change being applied, else plan.yaml's, else ``default``."""
        if name in self._pending:
            return self._pending[name]
        return self.ws.get(self.section, self.key(name), default)

    def bind(self, name: str, control, *, convert: Callable[[Any], Any] | None = None):
        """Bind ``control.value`` to decision ``name``: start from the saved value, save and
        refresh on every change."""
        value = self.saved(name)
        if value is not None:
            try:
                control.value = tuple(value) if isinstance(control.value, tuple) else value
            except Exception:  # noqa: BLE001 - a saved value the control no longer offers
                pass
        if hasattr(control, "style") and hasattr(control.style, "description_width"):
            control.style.description_width = "170px"
            control.layout.width = "480px"
        control.observe(lambda change, n=name: self.set(n, change["new"]), names="value")
        self.controls[name] = (control, convert)
        return control

    def values(self) -> dict[str, Any]:
        """Current control values (converted)."""
        return {n: (conv(c.value) if conv else c.value) for n, (c, conv) in self.controls.items()}

    def set(self, name: str, value: Any) -> None:
        """Apply a change of decision ``name``: save it, recompute, re-render. Errors are shown
        in the widget, not raised (the analyst keeps working)."""
        if self._loading:
            return
        control, conv = self.controls[name]
        if control.value != value:
            control.value = value  # the observer calls back here
            return
        self.commit(name, conv(value) if conv else value)

    def commit(self, name: str, value: Any) -> bool:
        """Apply decision ``name`` = ``value``: recompute and re-render first (the chart
        updates at once; ``last_ms`` times it), then record it in plan.yaml - only when the
        plan computes with it, so a batch run never inherits a broken decision."""
        self._pending[name] = value
        try:
            if not self.refresh():
                return False
            self.ws.record(self.section, self.key(name), value, by=self.by)
            return True
        except SalesplanError as exc:
            self.error(str(exc))
            return False
        finally:
            self._pending.pop(name, None)

    def error(self, text: str) -> None:
        self.message.value = f'<div class="salesplan-error" style="color:#b00">{html.escape(text)}</div>'
        if not self.interactive:
            from IPython.display import HTML, display

            display(HTML(self.message.value))
            self._error_shown = self.message.value  # show_static does not repeat it

    # ---- rendering -----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Recompute and (live) re-render; False (and the error shown) when the planning
        module rejects the decisions. ``last_ms`` times it (compute + render)."""
        t0 = time.perf_counter()
        try:
            result = self.compute()
        except SalesplanError as exc:
            self.error(str(exc))
            return False
        self.result = result
        self.message.value = ""
        if self.interactive:
            self._render_live()
        self.last_ms = (time.perf_counter() - t0) * 1000
        return True

    def fast_spec(self, result: Any) -> dict | None:
        """Optional fast path: the updated Vega-Lite spec as a dict (e.g. the first spec with
        its named dataset swapped), skipping Altair's chart construction. ``None``: build
        :meth:`chart` as usual."""
        return None

    def _render_live(self) -> None:
        spec = self.fast_spec(self.result) if self.chart_view is not None else None
        if spec is not None:
            self.chart_view.spec = spec
        else:
            chart = self.chart(self.result)
            if chart is not None and self.chart_view is None:
                _offline()
                self.chart_view = alt.JupyterChart(chart, embed_options={"renderer": "svg",
                                                                         "actions": False})
            elif chart is not None:  # the spec trait directly: skips schema validation
                self.chart_view.spec = chart.to_dict(validate=False)
            shown = (self.chart_view,) if chart is not None else ()
            if self.chart_box.children != shown:  # e.g. the first milestone makes a chart
                self.chart_box.children = shown
        self.summary_view.value = self.summary(self.result)
        self.table_view.value = html_table(self.table(self.result))

    def widget(self):
        """The live widget tree."""
        import ipywidgets as W

        if self._box is None:
            head = W.HTML(f"<h4>{html.escape(self.title)} - {html.escape(self.scope.label)}, "
                          f"{html.escape(self.period.label)}</h4>")
            ctrls = [c for c, _ in self.controls.values()]
            parts = [head, W.VBox(ctrls), *self.extra(), self.message, self.summary_view,
                     self.chart_box, self.table_view]
            self._box = W.VBox(parts)
            self._box.add_class(f"salesplan-{type(self).__name__.lower()}")
        return self._box

    def show_static(self) -> None:
        """Render the saved state as static output: title, summary, SVG chart, HTML table."""
        from IPython.display import HTML, display

        if self.result is None:
            if not self.message.value or self.message.value != getattr(self, "_error_shown", None):
                display(HTML(self.message.value or "<p><em>nothing to show</em></p>"))
            return
        text = self.summary(self.result)
        display(HTML(f"<h4>{html.escape(self.title)} - {html.escape(self.scope.label)}, "
                     f"{html.escape(self.period.label)}</h4>" + (f"<p>{text}</p>" if text else "")))
        static_chart(self.chart(self.result))
        table = self.table(self.result)
        if table is not None:
            display(HTML(html_table(table)))
            self.save_output(table)

    def save_output(self, table: pd.DataFrame | None = None) -> Path | None:
        """Store the widget's table as workspace output ``ui/<Class>_<scope>`` (a batch run
        leaves one per widget and scope)."""
        table = self.table(self.result) if table is None and self.result is not None else table
        if table is None:
            return None
        return self.ws.save_output("ui", output_name(self.scope, f"{type(self).__name__}_"),
                                   _storable(table))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.interactive:
            display(self.widget())
        else:
            self.show_static()

    def show(self) -> StepWidget:
        """Display the widget (live or static) and return it."""
        self._ipython_display_()
        return self


WIDGET_MODULES = ("data", "goals", "swot", "plan", "quotas", "scenarios", "timeline", "actions")


def widget_classes() -> dict[str, type]:
    """Every widget class by name (imports the ``salesplan_nb.ui.*`` widget modules)."""
    import importlib

    out: dict[str, type] = {}
    for mod in WIDGET_MODULES:
        m = importlib.import_module(f"salesplan_nb.ui.{mod}")
        for name in getattr(m, "__all__", []):
            out[name] = getattr(m, name)
    return out

