"""One number format and one table renderer (core.formats, core.tables) for widgets and plans."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from salesplan_nb.core import formats
from salesplan_nb.core.tables import Table, table_html

HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "{{ 7*7 }}",
           "{% raw %}", "a & b", "</table><table>"]


def test_money_pct_and_cells():
    assert formats.money(1_234_567) == "$1.23M" and formats.money(12_000) == "$12.00k"
    assert formats.money(-2_500_000_000) == "-$2.50B" and formats.money(512.4) == "$512"
    assert formats.money(None) == formats.money(float("nan")) == formats.money(pd.NA) == "n/a"
    # money in a table: no cents from $1k up, cents below (whole amounts without)
    assert formats.amount(15_513_162.59) == "15,513,163"
    assert formats.amount(999.5) == "999.50" and formats.amount(512.0) == "512"
    assert formats.amount(-1234.56) == "-1,235" and formats.amount(None) == ""
    assert formats.pct(0.256) == "25.6%" and formats.pct(1.5, 0) == "150%"
    assert formats.pct(np.float64("nan")) == "n/a"
    assert formats.cell(0.15, "pct") == "15.0%" and formats.cell(3.0, "int") == "3"
    assert formats.cell(pd.Timestamp("2027-02-28 13:00"), "date") == "2027-02-28"
    assert formats.cell(pd.NaT, "date") == "" and formats.cell(None, "money") == ""
    # an unformatted float never shows float noise
    assert formats.cell(0.1 + 0.2) == "0.30" and formats.cell("x") == "x"


@pytest.mark.parametrize("name, kind", [("win_rate", "pct"), ("share", "pct"),
                                        ("yoy_growth", "pct"), ("bookings", "money"),
                                        ("avg_deal", "money"), ("quota", "money"),
                                        ("marginal_roi", "num"), ("cycle_days", "num")])
def test_infer_format_from_names(name, kind):
    assert formats.infer_format(name, pd.Series([1.5])) == kind
    assert formats.infer_format(name, pd.Series(["text"])) == ""


def test_headers_in_words_with_units():
    lab = formats.column_label
    assert lab("win_rate", "pct") == "Win rate"
    assert lab("avg_deal", "money") == "Avg deal (USD)"
    assert lab("bookings", "money") == "Bookings (USD)"
    assert lab("amount_usd", "money") == "Amount USD"  # the unit is not repeated
    assert lab("cycle_days", "num") == "Sales cycle (days)"
    assert lab("rep_name") == "Rep" and lab("expected close", "date") == "Expected close"
    assert lab(2027, "money") == "2027 (USD)"


def test_one_table_renderer_formats_and_labels():
    df = pd.DataFrame({"segment": ["Enterprise", "SMB"], "bookings": [15_513_162.59, 999.5],
                       "win_rate": [0.15, 0.5], "deals": [3, 40],
                       "avg_deal": [5_171_054.2, float("nan")]})
    html = table_html(Table(df, {"deals": "int"}, caption="By segment"))
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert heads == ["Segment", "Bookings (USD)", "Win rate", "Deals", "Avg deal (USD)"]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells[:5] == ["Enterprise", "15,513,163", "15.0%", "3", "5,171,054"]
    assert cells[5:] == ["SMB", "999.50", "50.0%", "40", ""]
    assert "<caption>By segment</caption>" in html and html.count('class="num"') == 4 + 8
    assert "0.15" not in html and ".59" not in html
    # widgets draw through the same renderer: the same cells, the same headers
    from salesplan_nb import ui

    w = ui.html_table(df)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", w)[1:3] == ["15,513,163", "15.0%"]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", w)[1] == "Bookings (USD)"
    assert "more rows not shown" in ui.html_table(pd.DataFrame({"a": range(50)}), max_rows=10)
    assert "(no rows)" in table_html(df.iloc[:0])


@pytest.mark.parametrize("name", HOSTILE)
def test_table_renderer_escapes_hostile_names(name):
    df = pd.DataFrame({name: [name, "ok"], "bookings": [1.0, 2.0]})
    html = table_html(Table(df, caption=name, labels={"bookings": name}))
    for raw in ("<img", "<script", "</table><table>"):
        if raw in name:
            assert raw not in html
    assert "49" not in html  # no template evaluation of data
    from markupsafe import escape

    assert html.count(str(escape(name))) >= 3  # header, cell, caption (and the label)
    assert html.count("<table") == 1 and html.count("</table>") == 1


def test_nan_and_inf_are_never_numbers_in_cells():
    html = table_html(pd.DataFrame({"quota": [float("nan"), 1.0], "share": [None, math.inf]}))
    assert "nan" not in html.lower() and "inf" not in html and "None" not in html
