"""The About sheet: definitions, formulas, parameters, source and version."""

from __future__ import annotations

import datetime as dt

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from clv_xl import __version__
from clv_xl.analysis.analyze import Analysis
from clv_xl.analysis.customers import RFM_GROUPS
from clv_xl.report import style
from clv_xl.report.fastsheet import fit_cell

SHEET = "About"

DEFINITIONS = (
    ("Order", "A row with an amount of 0 or more (several rows with one order id are one "
              "order). A negative amount is a refund: it lowers revenue and is not an order."),
    ("Revenue", "Sum of the amounts, net of refunds. A refund of a customer with no order "
                "is in no figure; the Data quality sheet lists it."),
    ("Gross margin", "Amount minus cost (from the cost or margin column); where the orders "
                     "have none, revenue x the margin assumption. Gross margin % = margin / "
                     "revenue (not the markup, margin / cost). A segment's margin = the "
                     "overall margin + the segment's spread (an input, by default what its "
                     "cost data say)."),
    ("Active / lost", "Active: ordered within the churn window before the analysis date. "
                      "Lost: no order for the whole window; the loss is dated at the last "
                      "order."),
    ("Expected lifetime", "Months from the first order's month to the last order's, counted "
                          "inclusively, expected for a new customer: the sum over months k "
                          "of S(k), the share still buying in month k, estimated by Kaplan-"
                          "Meier with customers whose loss cannot be seen yet (no churn "
                          "window since their last order) censored at the analysis date, so "
                          "growth does not bias it; beyond the months the data show, S falls "
                          "at the monthly retention of its last two observed years."),
    ("Loss detection", "Losses for the lifetime are seen after the churn window, or after "
                       "the 99th percentile of gaps between a customer's orders where that "
                       "is longer (at most 365 days), so long gaps are not taken for losses."),
    ("Monthly churn", "1 / expected lifetime: the constant monthly churn with the same "
                      "expected lifetime (1% a month = 100 months)."),
    ("Revenue per active month", "Expected lifetime revenue of a new customer / expected "
                                 "lifetime. Lifetime revenue = the sum over months since the "
                                 "first order of the revenue per acquired customer, from every "
                                 "customer whose month is complete."),
    ("CLV of a new customer", "Revenue per active month x gross margin / monthly churn = "
                              "lifetime revenue x margin: the gross margin a new customer is "
                              "expected to bring from the first order on (seed: EUR 200 x 30% "
                              "/ 6% = EUR 1,000). The planning number to compare with CAC. "
                              "Only for segments fixed at acquisition (a first order's "
                              "columns, the acquisition year)."),
    ("Discounted CLV", "Sum over months t = 0, 1, 2, ... of revenue per month x margin x "
                       "(1 - churn)^t / (1 + i)^t = revenue per month x margin x (1 + i) / "
                       "(i + churn): the first month now, the monthly rate i = (1 + yearly "
                       "rate)^(1/12) - 1. The one convention of the report, its model "
                       "forecasts (each month ahead from its start: the next month now) and "
                       "the calculator template; Fader, Hardie & Lee and the lifetimes "
                       "package discount a month more."),
    ("Gross margin to date", "The margin a customer has brought so far (historical)."),
    ("Expected remaining margin", "Formula: each group of customers of the same age (whole "
                                  "months since the first order) is expected to bring the "
                                  "group's size x the lifetime revenue still ahead at that "
                                  "age; it is shared among its active customers by revenue to "
                                  "date (lost customers expect none), x margin. Model: "
                                  "BG/NBD or Pareto/NBD (the one that forecast the holdout "
                                  "better, see Model) and Gamma-Gamma, next 36 months, "
                                  "discounted."),
    ("CLV bridge", "Margin to date + expected remaining margin = expected lifetime margin, "
                   "per customer: never below the margin to date. Averaged over every "
                   "customer ever acquired, the formula side estimates the CLV of a new "
                   "customer."),
    ("Customer equity", "The expected remaining margin of all of today's customers."),
    ("LTV:CAC, CAC payback", "CLV of a new customer / CAC; CAC / (revenue per active month "
                             "x margin), in months."),
    ("Repeat purchase rate", "Share of customers with two or more orders."),
    ("AOV", "Order value (before refunds) / orders."),
    ("Value tier", "Top 20% / middle 60% / bottom 20% of customers by revenue."),
    ("RFM scores", "Recency, frequency (orders) and monetary (revenue) quintiles, 5 = best; "
                   "equal values share a score. Groups: "
                   + "; ".join(f"{n}: R {a}-{b}, F {c}-{d}" for n, a, b, c, d in RFM_GROUPS)
                   + "."),
    ("Profitability", "Profitable: margin to date above 0. Unprofitable: 0 or less. Fully "
                      "refunded: every order refunded (revenue 0 or less); no value to date "
                      "and none expected (the model's P(alive) and spend left blank)."),
    ("Status vs model", "Overdue: active by the churn window, P(alive) under 5% by the "
                        "model. Lapsed: lost by the window, P(alive) over 50%."),
    ("Cohort", "Customers by the month of their first order; month 0 is that month."),
    ("NRR / GRR", "For the customers who bought in the previous 12 months: (start + expansion "
                  "- contraction - churned revenue) / start, and (start - contraction - "
                  "churned) / start."),
    ("Segment of a customer", "For each segment column: the value on the customer's first "
                              "order (where the customer came from)."),
    ("Formulas", "Every figure that depends on an input is a live formula on the inputs. "
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
        ("Segment margins", "the gross margin above + each segment's spread, from cost data"
         if analysis.segment_margins_from_data else "the gross margin above"),
        ("Annual discount rate", f"{p.annual_discount_rate:.2%}"),
        ("Monthly discount rate", f"{analysis.monthly_discount_rate:.4%}"),
        ("Churn window", f"{p.churn_window_days} days"),
        ("Loss detection", f"{analysis.valuation.detection_days} days"),
        ("CAC given", ", ".join(f"{c}: {v:,.2f}" for c, v in p.cac) or "none"),
        ("Small segment", f"fewer than {p.min_segment_customers} customers"),
        ("Currency", p.currency),
        ("", ""),
        *((f"Definition: {term}", text) for term, text in DEFINITIONS),
    ]  # fmt: skip
    return style.write_about_sheet(wb, "About this report", rows, sheet_name=SHEET, value_width=110)
