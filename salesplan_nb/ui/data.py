"""Data source and column mapper (step 1): pick a source and a mapping preset, override the
source column of any canonical column, and see the validation report live
(:func:`salesplan_nb.data.loaders.load_with_report`). Choices are saved in section ``data_source``
(``source``, ``preset``, ``overrides`` = {"table.column": "source column"})."""

from __future__ import annotations

import copy
import html

import altair as alt
import pandas as pd
import yaml

from salesplan_nb.core.errors import ConfigError, SalesplanError
from salesplan_nb.data import mapping as mapping_mod
from salesplan_nb.data import schema
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.ui import StepWidget

__all__ = ["DataSourceMapper", "mapping_with_overrides"]

CANONICAL = "(canonical layout)"


def mapping_with_overrides(preset: str | None, overrides: dict[str, str]) -> dict | None:
    """The preset's mapping as a dict with ``overrides`` ("table.column" -> source column)
    applied; ``None`` (canonical layout) when there is neither."""
    if not preset and not overrides:
        return None
    if preset:
        if preset not in mapping_mod.presets():
            raise ConfigError(f"unknown mapping preset {preset!r}; use one of "
                              f"{', '.join(mapping_mod.presets())}")
        raw = yaml.safe_load((mapping_mod.PRESET_DIR / f"{preset}.yaml").read_text("utf-8"))
    else:
        raw = {"name": "custom", "tables": {t: {"from": t, "columns": {}}
                                            for t in ("opportunities", "accounts", "reps",
                                                      "products")}}
    raw = copy.deepcopy(raw)
    for target, column in overrides.items():
        table, _, col = target.partition(".")
        if table not in schema.TABLES or col not in schema.TABLES[table].names:
            raise ConfigError(f"override {target!r}: not a canonical column (table.column, "
                              "e.g. opportunities.amount)")
        spec = raw.setdefault("tables", {}).setdefault(table, {"from": table})
        cols = spec.setdefault("columns", {}) or {}
        spec["columns"] = cols
        old = cols.get(col)
        if isinstance(old, dict):
            old["from"] = column
        else:
            cols[col] = column
    return raw


class DataSourceMapper(StepWidget):
    """Source + preset + column overrides, validated on every change."""

    section = "data_source"
    title = "Data source & column mapping"

    def build(self) -> None:
        import ipywidgets as W

        src = self.ws.source
        default_source = src.get("path", "") if isinstance(src, dict) else ""
        default_preset = (src.get("mapping") if isinstance(src, dict) else None) or CANONICAL
        presets = [CANONICAL, *mapping_mod.presets()]
        if default_preset not in presets:
            default_preset = CANONICAL
        self.bind("source", W.Text(value=str(default_source or ""), description="Source",
                                   placeholder="folder, workbook or SQLAlchemy URL",
                                   continuous_update=False))
        self.bind("preset", W.Dropdown(options=presets, value=default_preset,
                                       description="Mapping"))
        self.target = W.Dropdown(options=[f"{t}.{c}" for t in ("opportunities", "accounts",
                                                                "reps", "products")
                                          for c in schema.TABLES[t].names],
                                 description="Column")
        self.column = W.Text(description="from", placeholder="source column name")
        self.apply_button = W.Button(description="Map column")
        self.apply_button.on_click(lambda _b: self.override(self.target.value, self.column.value))

    def extra(self) -> list:
        import ipywidgets as W

        return [W.HBox([self.target, self.column, self.apply_button])]

    @property
    def overrides(self) -> dict[str, str]:
        return dict(self.saved("overrides") or {})

    def override(self, target: str, column: str) -> None:
        """Map canonical ``target`` ("table.column") from source ``column`` (blank removes)."""
        ov = self.overrides
        if column.strip():
            ov[target] = column.strip()
        else:
            ov.pop(target, None)
        self.ws.record(self.section, self.key("overrides"), ov, by=self.by)
        self.refresh()

    def compute(self) -> dict:
        v = self.values()
        source = (v["source"] or "").strip()
        if not source:
            return {"report": None, "note": "the plan uses its data snapshot "
                                            f"({len(self.ws.data.opportunities):,} opportunities);"
                                            " give a source to validate another one"}
        preset = None if v["preset"] == CANONICAL else v["preset"]
        try:
            mp = mapping_with_overrides(preset, self.overrides)
            data, report = load_with_report(source, mp)
        except SalesplanError as exc:
            return {"report": None, "note": str(exc)}
        return {"report": report, "data": data, "note": ""}

    def summary(self, result: dict) -> str:
        r = result["report"]
        if r is None:
            return html.escape(result["note"])
        verdict = "loadable" if r.ok else "NOT loadable"
        return html.escape(f"{r.source}: {len(r.errors)} error(s), {len(r.warnings)} "
                           f"warning(s) - {verdict}")

    def chart(self, result: dict):
        r = result["report"]
        if r is None or not r.tables:
            return None
        df = pd.DataFrame([{"table": t.table, "rows": t.rows} for t in r.tables.values()])
        return alt.Chart(df).mark_bar().encode(
            x=alt.X("rows:Q", title="rows loaded"), y=alt.Y("table:N", title=None),
            tooltip=["table", alt.Tooltip("rows:Q", format=",")]).properties(
            title="Rows per canonical table")

    def table(self, result: dict) -> pd.DataFrame | None:
        r = result["report"]
        if r is None:
            return None
        return r.to_frame()[["severity", "table", "file", "row", "column", "value", "reason",
                             "fix", "count"]]
