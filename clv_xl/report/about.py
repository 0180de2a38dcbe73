"""The About sheet: definitions, formulas, parameters, source and version."""

from __future__ import annotations

import datetime as dt

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import __version__
from .. import workbook_style as style
from ..analysis import ACTIVITY_MONTHS, RFM_GROUPS, Analysis
from ..fastsheet import fit_cell

SHEET = "About"

DEFINITIONS = (
    ("Order", "A row with an amount of 0 or more (several rows with one order id are one "
              "order). A negative amount is a refund: it lowers revenue and is not an order."),
    ("Revenue", "Sum of the amounts, net of refunds. A refund of a customer with no order "
                "is in no figure; the Data quality sheet lists it."),
    ("Gross margin", "Amount minus cost (from the cost or margin column); where the orders "
                     "have none, revenue x the margin assumption. Gross margin % = margin / "
                     "revenue (not the markup, margin / cost)."),
    ("Active / churned", "Active: ordered within the churn window before the analysis date. "
                         "Churned: lost on the day the window ran out after the last order."),
    ("Churn rate (monthly)", f"Customers lost / customer-months active, both over the last "
                             f"{ACTIVITY_MONTHS} months."),
    ("Average lifetime", "1 / monthly churn, in months (1% a month = 100 months)."),
    ("ARPU", f"Revenue in the last {ACTIVITY_MONTHS} months / customer-months active: revenue "
             "per active customer per month."),
    ("CLV", "ARPU x gross margin % / monthly churn: the margin a customer brings over an "
            "average lifetime (EUR 200 x 30% / 6% = EUR 1,000)."),
    ("Discounted CLV", "Sum over months t = 0, 1, 2, ... of ARPU x margin x (1 - churn)^t / "
                       "(1 + monthly rate)^t = ARPU x margin x (1 + i) / (i + churn), with the "
                       "monthly rate i = (1 + yearly rate)^(1/12) - 1."),
    ("Historical CLV", "Gross margin to date per customer."),
    ("CLV index", "Segment CLV / CLV of all customers (100% = average)."),
    ("Repeat purchase rate", "Share of customers with two or more orders."),
    ("AOV", "Order value (before refunds) / orders."),
    ("Value tier", "Top 20% / middle 60% / bottom 20% of customers by revenue."),
    ("RFM scores", "Recency, frequency (orders) and monetary (revenue) quintiles, 5 = best; "
                   "equal values share a score. Groups: "
                   + "; ".join(f"{n}: R {a}-{b}, F {c}-{d}" for n, a, b, c, d in RFM_GROUPS)
                   + "."),
    ("Cohort", "Customers by the month of their first order; month 0 is that month."),
    ("NRR / GRR", "For the customers who bought in the previous 12 months: (start + expansion "
                  "- contraction - churned revenue) / start, and (start - contraction - "
                  "churned) / start."),
    ("Segment of a customer", "For each segment column: the value on the customer's first "
                              "order (where the customer came from)."),
    ("Formulas", "CLV, lifetime and discounted CLV are live formulas on the Summary inputs. "
                 "Formulas hold no assumptions: their only literals are the 1s of discount "
                 "factors and reciprocals."),
)  # fmt: skip


def write(wb: Workbook, analysis: Analysis, generated_at: dt.datetime) -> Worksheet:
    p, source = analysis.params, analysis.orders.source
    rows = [
        ("Tool", f"clv_xl {__version__}"),
        ("Generated at", generated_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("Source file", fit_cell(source.path or "(a table passed in directly)")),
        ("Source sheet", source.sheet or ""),
        ("Source SHA-256", source.sha256 or ""),
        ("Analysis date", analysis.as_of),
        ("Gross margin", f"{analysis.margin:.2%} ({analysis.margin_source})"),
        ("Segment margins", "each segment's own, from cost data"
         if analysis.segment_margins_from_data else "the gross margin above"),
        ("Annual discount rate", f"{p.annual_discount_rate:.2%}"),
        ("Monthly discount rate", f"{analysis.monthly_discount_rate:.4%}"),
        ("Churn window", f"{p.churn_window_days} days"),
        ("Small segment", f"fewer than {p.min_segment_customers} customers"),
        ("Currency", p.currency),
        ("", ""),
        *((f"Definition: {term}", text) for term, text in DEFINITIONS),
    ]  # fmt: skip
    return style.write_about_sheet(wb, "About this report", rows, sheet_name=SHEET, value_width=110)
