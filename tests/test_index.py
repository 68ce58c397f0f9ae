"""The run index: the company plan first, growth columns labelled with their years, one table
renderer with escaped names (no kernel: run records written by hand)."""

from __future__ import annotations

import json
import re

from salesplan_nb.batch.runner import list_units, write_index

XSS = "<img src=x onerror=alert(1)>"


def _record(out, level, stem, uid, label, headline, status="ok"):
    (out / level).mkdir(parents=True, exist_ok=True)
    (out / level / f"{stem}.html").write_text("<html></html>")
    rec = {"unit": {"level": level, "id": uid, "label": label}, "status": status,
           "error": None if status == "ok" else {"cell": 3, "ename": "RuntimeError",
                                                 "evalue": XSS},
           "headline": headline, "parameters": {"plan_type": "annual", "period": "2027"}}
    (out / level / f"{stem}.json").write_text(json.dumps(rec))


def test_index_leads_with_the_company_and_labels_its_years(tmp_path, sample_data):
    assert [(u.level, u.id) for u in list_units(sample_data, "company")] == \
        [("company", "company")]
    h = {"baseline_period": "2025", "baseline_bookings": 15_513_162.59, "baseline_growth": 0.15,
         "target": 18_000_000.0, "implied_growth": 0.16, "win_rate": 0.25,
         "open_pipeline": 9_000_000.0, "coverage": 1.5, "growth_label": "2025 vs 2024"}
    _record(tmp_path, "region", "emea", "EMEA", XSS, h)
    _record(tmp_path, "company", "company", "company", "Company", h)
    _record(tmp_path, "territory", "t1", "T1", "T1", {}, status="failed")
    page = write_index(tmp_path, "demo").read_text()
    heads = re.findall(r'<h2 id="level-(\w+)"', page)
    assert heads == ["company", "region", "territory"]
    ths = re.findall(r"<th[^>]*>([^<]*)</th>", page)
    for want in ("Bookings 2025 (USD)", "Growth 2025 vs 2024", "Target 2027 (USD)",
                 "Target vs 2025", "Win rate 2025", "Coverage 2027 (x)"):
        assert want in ths, want
    assert "Growth" not in [t for t in ths if t == "Growth"]  # never an unlabelled growth
    assert "15,513,163" in page and ".59" not in page and "15.0%" in page
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "RuntimeError" in page and 'href="company/company.html"' in page
