"""Contacts and the buying committee: one rule for deal roles and for showing personal data.

- **Roles**: a contact's role in the deal is one of :data:`ROLES`. CRM spellings are read
  case- and punctuation-insensitively through :data:`ROLE_SYNONYMS` (Salesforce contact
  roles "Economic Decision Maker", "Business User", "Technical Buyer"; HubSpot buying roles
  "Budget Holder", "End User", ...); a list such as ``"Champion;End User"`` keeps its first
  role. Other values are kept as written (validation warns) and count as no key role.
- **Key roles** (:data:`KEY_ROLES`): economic buyer, decision maker and champion. An account
  whose committee has none of one of them is flagged ("no economic buyer identified").
- **Personal data**: e-mail addresses and phone numbers are never printed in full in a plan:
  :func:`mask_email` keeps the first letter and the domain (``m***@acme.example``),
  :func:`mask_phone` the last four digits (``***0134``). The full values stay in
  ``Dataset.contacts`` for notebook use.
"""

from __future__ import annotations

import re

import pandas as pd

from salesplan_nb.data import schema

ROLES = ("economic buyer", "decision maker", "champion", "executive sponsor",
         "technical buyer", "influencer", "user", "blocker", "other")
KEY_ROLES = ("economic buyer", "decision maker", "champion")

ROLE_SYNONYMS: dict[str, str] = {
    "economicbuyer": "economic buyer", "economicdecisionmaker": "economic buyer",
    "budgetholder": "economic buyer", "budgetowner": "economic buyer", "eb": "economic buyer",
    "decisionmaker": "decision maker", "dm": "decision maker",
    "champion": "champion", "coach": "champion",
    "executivesponsor": "executive sponsor", "sponsor": "executive sponsor",
    "technicalbuyer": "technical buyer", "technicalevaluator": "technical buyer",
    "evaluator": "technical buyer",
    "influencer": "influencer", "legalcompliance": "influencer", "procurement": "influencer",
    "user": "user", "businessuser": "user", "enduser": "user",
    "blocker": "blocker", "other": "other",
}


def _norm(s: pd.Series) -> pd.Series:
    return s.str.lower().str.replace(r"[^a-z]+", "", regex=True)


def normalize_roles(role: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(roles, unknown)``: each value's first item (``;`` or ``,`` separated) mapped to its
    canonical role (:data:`ROLE_SYNONYMS`); values not recognised stay as written and are
    marked in ``unknown`` (blank is neither)."""
    text = role.astype(schema.STRING)
    first = text.str.split(r"[;,]", n=1, regex=True).str[0].str.strip()
    first = first.mask(first == "")
    canon = _norm(first).map(ROLE_SYNONYMS).astype(schema.STRING)
    unknown = (first.notna() & canon.isna()).fillna(False).astype(bool)
    return canon.fillna(first).astype(schema.STRING), unknown


def mask_email(v: object) -> str:
    """``maria.garcia@acme.example`` -> ``m***@acme.example`` (blank -> empty)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)) or not str(v).strip():
        return ""
    local, at, domain = str(v).strip().partition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_phone(v: object) -> str:
    """``+1 415 555 0134`` -> ``***0134`` (the last four digits; blank -> empty)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    digits = re.sub(r"\D", "", str(v))
    return f"***{digits[-4:]}" if len(digits) >= 4 else ("***" if digits else "")


def committee(contacts: pd.DataFrame, account_id: str,
              opportunities: pd.DataFrame | None = None) -> pd.DataFrame:
    """The buying committee of one account: one row per contact (``contact_id``, else name)
    with ``name, title, role`` (a contact with several roles lists them, key roles first),
    ``deals`` (opportunity ids the roles are on, sorted), ``last_activity`` (latest date),
    ``email`` and ``phone`` masked. Sorted by role (key roles first), then name."""
    c = contacts[(contacts["account_id"] == account_id).fillna(False).astype(bool)]
    cols = ["name", "title", "role", "deals", "last_activity", "email", "phone"]
    if not len(c):
        return pd.DataFrame(columns=cols)
    who = c["contact_id"].fillna(c["name"]).astype(str)
    rank = {r: i for i, r in enumerate(ROLES)}
    rows = []
    for _, g in c.groupby(who, sort=False):
        roles = sorted({str(r) for r in g["role"].dropna()},
                       key=lambda r: (rank.get(r, len(ROLES)), r))
        first = g.iloc[0]
        rows.append({
            "name": str(first["name"]),
            "title": "" if pd.isna(first["title"]) else str(first["title"]),
            "role": ", ".join(roles),
            "deals": ", ".join(sorted({str(o) for o in g["opportunity_id"].dropna()})),
            "last_activity": g["last_activity"].max(),
            "email": mask_email(g["email"].dropna().iloc[0] if g["email"].notna().any()
                                else None),
            "phone": mask_phone(g["phone"].dropna().iloc[0] if g["phone"].notna().any()
                                else None),
            "_rank": min((rank.get(r, len(ROLES)) for r in roles), default=len(ROLES) + 1)})
    out = pd.DataFrame(rows).sort_values(["_rank", "name"], kind="stable", ignore_index=True)
    out["last_activity"] = pd.to_datetime(out["last_activity"])
    return out.drop(columns="_rank")[cols]


def missing_key_roles(table: pd.DataFrame) -> list[str]:
    """The :data:`KEY_ROLES` no contact of a :func:`committee` table holds."""
    held = {r.strip() for roles in table["role"] for r in str(roles).split(",")}
    return [r for r in KEY_ROLES if r not in held]
