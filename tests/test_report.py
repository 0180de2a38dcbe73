"""The report workbook: structure with openpyxl, numbers recalculated by LibreOffice."""

from __future__ import annotations

import re
import zipfile
from itertools import pairwise
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from excel_rules import chart_axis_problems
from libreoffice import error_cells, recalculate, to_pdf

from clv_xl.analysis.analyze import MODEL_STEP, SEGMENTS_STEP, analyze
from clv_xl.analysis.params import Params
from clv_xl.errors import InputError
from clv_xl.functions import formulas
from clv_xl.orders.load import load_orders
from clv_xl.report import customers as customers_sheet
from clv_xl.report import segments as segments_sheet
from clv_xl.report import style
from clv_xl.report.model import CHOICE_ROWS
from clv_xl.report.workbook import write_report
from clv_xl.templates.sample import sample_orders

SHEETS = [
    "Summary", "Sensitivity", "Segments", "CAC", "Cohorts", "Customers", "Charts", "Model",
    "Data quality",
    "About",
]  # fmt: skip
NAMES = {
    "Customers", "Orders", "Revenue", "AOV", "RepeatRate", "ChurnRate", "CustomerLifetime",
    "ARPU", "Margin", "DiscountRate", "CLV", "RowsRead", "RowsUsed", "RowsExcluded",
    "RemainingRevenue", "ModelRevenue", "CustomerEquity", "BridgeToDateFormula",
    "BridgeRemainingFormula", "BridgeLifetimeFormula", "BridgeLifetimeModel",
}  # fmt: skip
SAMPLE_FILE = Path(__file__).parents[1] / "templates" / "sample_orders.xlsx"
EVIL = '=HYPERLINK("http://example.com","click")'


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    frame = sample_orders(customers=400, seed=3).astype({"Amount": object})
    frame.loc[frame.index[:3], "Customer ID"] = EVIL  # text from the data, not a formula
    frame.loc[frame.index[5], "Amount"] = "n/a"  # excluded, reported
    return frame


@pytest.fixture(scope="module")
def analysis(orders):
    return analyze(load_orders(orders), Params(min_segment_customers=40))


@pytest.fixture(scope="module")
def report(analysis, tmp_path_factory):
    return write_report(analysis, tmp_path_factory.mktemp("report") / "report.xlsx")


@pytest.fixture(scope="module")
def recalculated(report, tmp_path_factory):
    return recalculate(report, tmp_path_factory.mktemp("recalculated"))


def named_value(wb, name):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")].value


class TestStructure:
    def test_sheets_names_and_tables(self, report, analysis):
        wb = openpyxl.load_workbook(report)
        assert wb.sheetnames == SHEETS
        assert set(wb.defined_names) >= NAMES
        for name in NAMES:  # each refers to exactly one cell
            ((_sheet, ref),) = wb.defined_names[name].destinations
            assert ":" not in ref, name
        assert "CustomerTable" in wb["Customers"].tables
        assert len(wb["Segments"].tables) == len(analysis.dimensions)
        assert len(wb["Charts"]._charts) >= 4

    def test_every_customer_is_on_the_customers_sheet(self, report, analysis):
        ws = openpyxl.load_workbook(report)["Customers"]
        assert ws.max_row == len(analysis.customers) + 1
        assert ws.tables["CustomerTable"].ref.endswith(str(len(analysis.customers) + 1))

    def test_inputs_are_styled_as_inputs_and_results_as_outputs(self, report):
        wb = openpyxl.load_workbook(report)
        sheet, ref = next(iter(wb.defined_names["Margin"].destinations))
        margin = wb[sheet][ref.replace("$", "")]
        assert margin.font.color.rgb.endswith("0000FF") and margin.fill.fgColor.rgb.endswith(
            "FFF2CC"
        )
        sheet, ref = next(iter(wb.defined_names["CLV"].destinations))
        assert wb[sheet][ref.replace("$", "")].font.bold

    def test_data_text_is_never_a_formula(self, report):
        wb = openpyxl.load_workbook(report)
        cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value == EVIL]
        assert cells and all(c.data_type == "s" for c in cells)
        for ws in wb:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        assert ws.title in ("Summary", "Sensitivity", "Segments", "CAC"), ws.title
                        assert "HYPERLINK" not in cell.value

    def test_formulas_hold_no_hard_coded_numbers(self, report):
        wb = openpyxl.load_workbook(report)
        for ws in wb:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        # Cell references (A1) aside, the only literal is the 1 of a
                        # discount factor or a reciprocal.
                        numbers = re.findall(r"(?<![A-Z$\d.])\d+(?:\.\d+)?", cell.value)
                        assert set(numbers) <= {"1"}, (ws.title, cell.coordinate, cell.value)

    def test_frozen_headers_and_print_setup(self, report):
        wb = openpyxl.load_workbook(report)
        for name in ("Summary", "Segments", "Customers", "Cohorts"):
            assert wb[name].freeze_panes, name
        for ws in wb.worksheets:  # landscape A4, header and footer, readable
            assert ws.page_setup.orientation == "landscape", ws.title
            assert ws.page_setup.paperSize == 9 and ws.page_setup.scale >= 80
            assert ws.oddHeader.center.text and "&P" in ws.oddFooter.right.text, ws.title
        assert wb["Customers"].print_title_rows == "$1:$1"
        assert wb["Segments"].print_title_cols == "$A:$A"
        about = wb["About"]
        assert all(cell.alignment.wrap_text for cell in about["B"][2:] if cell.value)
        width = about.column_dimensions["B"].width
        for cell in about["B"][2:]:  # a long definition gets a row tall enough for its lines
            if isinstance(cell.value, str) and len(cell.value) > width:
                assert about.row_dimensions[cell.row].height >= 30, cell.value
        assert wb.properties.title and wb.properties.creator.startswith("clv_xl")

    def test_data_quality_lists_the_excluded_row(self, report, analysis):
        ws = openpyxl.load_workbook(report)["Data quality"]
        text = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        assert "Non-numeric amount" in text
        assert "7" in text  # sheet row of the bad amount: data row 5 + header + 1
        assert analysis.orders.rows_excluded == 1

    def test_about_sheet(self, report, analysis):
        ws = openpyxl.load_workbook(report)["About"]
        labels = {row[0].value: row[1].value for row in ws.iter_rows(min_row=3) if row[0].value}
        assert labels["Tool"].startswith("clv_xl ")
        assert labels["Analysis date"].date() == analysis.as_of
        assert "Definition: CLV of a new customer" in labels and "Generated at" in labels
        assert "Definition: CLV bridge" in labels and "Loss detection" in labels


class TestRecalculated:
    """LibreOffice computes every formula: the numbers equal Python's, and no cell errs."""

    def test_no_cell_shows_an_error(self, recalculated):
        assert error_cells(recalculated) == []

    def test_summary_figures_equal_python(self, recalculated, analysis):
        o = analysis.overall
        expected = {
            "Customers": o["customers"], "Orders": o["orders"], "Revenue": o["revenue"],
            "ChurnRate": o["monthly_churn"], "ARPU": o["arpu"], "Margin": analysis.margin,
            "CustomerLifetime": o["lifetime_months"], "CLV": o["clv"],
            "DiscountedCLV": o["clv_discounted"], "RowsRead": analysis.orders.rows_read,
            "RowsExcluded": analysis.orders.rows_excluded,
            "MonthlyDiscountRate": analysis.monthly_discount_rate,
            "ModelRevenue": analysis.customers["predicted_revenue_36m"].mean(),
            "BridgeToDateFormula": analysis.customers["margin"].mean(),
            "BridgeRemainingFormula": analysis.customers["remaining_revenue"].mean()
            * analysis.margin,
            "BridgeLifetimeModel": analysis.customers["margin"].mean()
            + analysis.customers["predicted_clv_36m"].mean(),
            "CustomerEquity": analysis.customers["remaining_revenue"].sum() * analysis.margin,
        }  # fmt: skip
        for name, value in expected.items():
            assert named_value(recalculated, name) == pytest.approx(value, rel=1e-9), name

    def test_segment_formulas_equal_python(self, report, recalculated, analysis):
        formulas_wb = openpyxl.load_workbook(report)["Segments"]
        values_ws = recalculated["Segments"]
        cols = segments_sheet.columns(analysis)
        checked = 0
        for dimension in analysis.dimensions:
            part = segments_sheet.ordered(analysis, dimension)
            header_row = next(
                r for r in range(1, formulas_wb.max_row + 1)
                if formulas_wb.cell(r, 1).value == dimension
            ) + 1  # fmt: skip
            for offset, (_, seg) in enumerate(part.iterrows(), start=1):
                for index, col in enumerate(cols, start=1):
                    if col.live is None:
                        continue
                    assert formulas_wb.cell(header_row + offset, index).data_type == "f"
                    got = values_ws.cell(header_row + offset, index).value
                    want = seg[col.field]
                    if np.isnan(want):
                        assert got in (None, ""), (dimension, seg["segment"], col.field)
                    else:
                        assert got == pytest.approx(want, rel=1e-9), (dimension, col.field)
                    checked += 1
        assert checked > 50

    def test_changing_the_margin_updates_every_clv(self, report, analysis, tmp_path):
        wb = openpyxl.load_workbook(report)
        sheet, ref = next(iter(wb.defined_names["Margin"].destinations))
        wb[sheet][ref.replace("$", "")].value = 0.5
        changed = tmp_path / "changed.xlsx"
        wb.save(changed)
        values = recalculate(changed, tmp_path / "out")
        o = analysis.overall
        assert named_value(values, "CLV") == pytest.approx(o["arpu"] * 0.5 / o["monthly_churn"])
        assert named_value(values, "CLV") == pytest.approx(o["lifetime_revenue"] * 0.5)


def test_an_existing_report_is_not_overwritten(report, analysis):
    before = report.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        write_report(analysis, report)
    assert report.read_bytes() == before


def test_no_temporary_file_is_left_behind(report):
    assert [p.name for p in report.parent.iterdir()] == [report.name]


def test_currency_is_configurable(analysis, tmp_path):
    usd = analyze(analysis.orders, Params(currency="USD"))
    path = write_report(usd, tmp_path / "usd.xlsx")
    ws = openpyxl.load_workbook(path)["Summary"]
    _sheet, ref = next(iter(openpyxl.load_workbook(path).defined_names["Revenue"].destinations))
    assert "$" in ws[ref.replace("$", "")].number_format


def test_the_customers_sheet_holds_every_customer_and_value(report, analysis):
    """Streamed by the fast path: compare every cell with the analysis, every number read
    back as the same float (the shortest text that round-trips, not 15 digits)."""
    from clv_xl.report.customers import table_frame

    ws = openpyxl.load_workbook(report, read_only=True)["Customers"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    expected = table_frame(analysis)
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected.itertuples(index=False), strict=True):
        for g, w in zip(got, want, strict=True):
            if isinstance(w, pd.Timestamp):
                assert g == w.to_pydatetime()
            elif isinstance(w, float) and np.isnan(w):
                assert g is None
            elif isinstance(w, float | int) and not isinstance(w, bool):
                assert g == w
            else:
                assert g == w


class TestModelSheet:
    def test_parameters_and_the_tracking_chart(self, report, analysis):
        p = analysis.prediction
        assert p.fitted, p.reason
        ws = openpyxl.load_workbook(report)["Model"]
        cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
        for _, parameter in p.parameters.iterrows():
            (row,) = [
                c.row
                for c in ws["B"]
                if c.value == parameter["parameter"]
                and ws.cell(c.row, 1).value == parameter["model"]
            ]
            assert ws.cell(row, 3).value == pytest.approx(parameter["estimate"])
        assert "Cumulative repeat purchases, actual vs model" in cells
        assert f"Purchase model: {p.purchase_model}" in cells and p.notes
        assert all(note in cells for note in p.notes)  # which model, and why
        assert len(ws._charts) == 1

    def test_segments_show_the_mean_predicted_revenue(self, analysis):
        c = analysis.customers
        by_tier = c.groupby("value_tier")["predicted_revenue_36m"].mean()
        seg = analysis.segments[analysis.segments["dimension"] == "Value tier"]
        for _, row in seg.iterrows():
            assert row["model_revenue_36m"] == pytest.approx(by_tier[row["segment"]])

    def test_too_thin_to_fit_says_so_and_keeps_the_simple_clv(self, tmp_path):
        orders = pd.DataFrame(
            {
                "customer": ["A", "B", "A"],
                "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
                "amount": [10.0, 20.0, 30.0],
            }
        )
        thin = analyze(load_orders(orders))
        assert not thin.prediction.fitted
        ws = openpyxl.load_workbook(write_report(thin, tmp_path / "thin.xlsx"))["Model"]
        texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
        assert any(t.startswith("No model fitted: ") for t in texts)
        assert thin.customers["predicted_clv_12m"].isna().all()


def test_data_quality_lists_unread_cells_and_every_column(tmp_path):
    frame = pd.DataFrame(
        {
            "customer": ["A", "A", "B"] * 20,
            "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 20),
            "amount": [10.0, 20.0, 30.0] * 20,
            "cost": [5, "x", 10] * 20,  # every third cost is unreadable
            "weight": [1.0, 2.0, 3.0] * 20,  # a number column: not a segment
            "channel": ["Web", "Shop", "Web"] * 20,
        }
    )
    ws = openpyxl.load_workbook(write_report(analyze(load_orders(frame)), tmp_path / "q.xlsx"))
    rows = [r for r in ws["Data quality"].iter_rows(values_only=True) if any(r)]
    assert ("Non-numeric cost", 20, "3, 6, 9, 12, 15") in rows
    assert ("Not used", "weight", None) in rows and ("Segment", "channel", None) in rows
    assert ("Cost", "cost", None) in rows and ("Order date", "date", None) in rows


def test_headings_align_as_the_figures_under_them(report):
    """A heading over numbers and dates only is right-aligned, as they are; one over yes/no
    centred; a column of text after one of figures is indented, heading and cells, so that
    the two read apart (the Model sheet's "Std error" and "Unit")."""
    import datetime as dt

    checked, wrong = 0, []
    for ws in openpyxl.load_workbook(report).worksheets:
        for row in ws.iter_rows():
            for heading in row:
                if heading.fill != style.HEADER.fill or not isinstance(heading.value, str):
                    continue
                values, below = [], heading.row + 1
                while (cell := ws.cell(below, heading.column)).value is not None:
                    if cell.fill == style.HEADER.fill:
                        break
                    values.append(cell.value)
                    below += 1
                figures = [
                    isinstance(v, int | float | dt.date) and not isinstance(v, bool) for v in values
                ]
                if values and all(figures):
                    checked += 1
                    if heading.alignment.horizontal != "right":
                        wrong.append((ws.title, heading.coordinate, heading.value))
    assert checked >= 40 and not wrong
    model = openpyxl.load_workbook(report)["Model"]
    named = {c.value: c for row in model.iter_rows() for c in row if c.fill == style.HEADER.fill}
    assert named["Converged"].alignment.horizontal == "center"
    assert named["Estimate"].alignment.horizontal == named["Std error"].alignment.horizontal
    unit = named["Unit"]
    assert unit.alignment.indent == 1
    assert model.cell(unit.row + 1, unit.column).alignment.indent == 1


def test_every_chart_shows_its_axes_in_excel(report, tmp_path):
    with zipfile.ZipFile(report) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) >= 5
        hidden = tmp_path / "hidden.xlsx"  # a planted defect: one axis without delete="0"
        with zipfile.ZipFile(hidden, "w") as copy:
            for item in archive.infolist():
                data = archive.read(item)
                if item.filename == charts[0]:
                    data = re.sub(rb'<(\w+:)?delete val="0"\s*/>', b"", data, count=1)
                copy.writestr(item, data)
    assert chart_axis_problems(report) == []
    assert len(chart_axis_problems(hidden)) == 1


def test_month_axes_label_at_most_thirteen_months(report, analysis):
    """The cohort curves' axes (months since first order) label every n-th month, at most
    CATEGORY_LABELS labels, in Excel: 36 month numbers side by side run together."""
    with zipfile.ZipFile(report) as archive:
        parts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    curves = [c for c in parts if "Months since first order" in c]
    months = len(analysis.retention_curves)
    assert len(curves) == 2 and months > style.CATEGORY_LABELS
    for chart in curves:
        skip = re.search(r'<(?:c:)?tickLblSkip val="(\d+)"', chart)
        assert skip and -(-months // int(skip.group(1))) <= style.CATEGORY_LABELS


def segment_rows(wb, analysis) -> dict[tuple[str, str], int]:
    """(dimension, segment) -> its row on the Segments sheet, found by the section titles."""
    ws = wb["Segments"]
    rows = {}
    for dimension in analysis.dimensions:
        header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == dimension) + 1
        for offset, name in enumerate(segments_sheet.ordered(analysis, dimension)["segment"], 1):
            assert ws.cell(header + offset, 1).value == name
            rows[dimension, name] = header + offset
    return rows


class TestLiveInputs:
    """Each input changed in the workbook, recalculated by LibreOffice: every dependent
    figure moves and equals the library's formulas on Python's values."""

    MARGIN, SPREAD, RATE, CAC = 0.5, 0.1, 0.2, 100.0

    @pytest.fixture(scope="class")
    @classmethod
    def changed(cls, report, analysis, tmp_path_factory):
        wb = openpyxl.load_workbook(report)
        for name, value in (("Margin", cls.MARGIN), ("DiscountRate", cls.RATE)):
            sheet, ref = next(iter(wb.defined_names[name].destinations))
            wb[sheet][ref.replace("$", "")].value = value
        rows = segment_rows(wb, analysis)
        spread = segments_sheet.column_index(analysis, "margin_spread")
        wb["Segments"].cell(rows["Channel", "Webshop"], spread).value = cls.SPREAD
        cac = wb["CAC"]
        (webshop,) = [r for r in range(6, cac.max_row + 1) if cac.cell(r, 1).value == "Webshop"]
        cac.cell(webshop, 3).value = cls.CAC
        path = tmp_path_factory.mktemp("changed") / "changed.xlsx"
        wb.save(path)
        return recalculate(path, tmp_path_factory.mktemp("changed-out")), rows, webshop

    def expected_margin(self, analysis, dimension, segment):
        if dimension == "All customers":
            return self.MARGIN
        row = analysis.segments.set_index(["dimension", "segment"]).loc[(dimension, segment)]
        spread = (
            self.SPREAD if (dimension, segment) == ("Channel", "Webshop") else row["margin_spread"]
        )
        return self.MARGIN + spread

    def test_every_segment_figure_follows(self, changed, analysis):
        values, rows, _ = changed
        ws = values["Segments"]
        i = (1 + self.RATE) ** (1 / 12) - 1
        column = {f: segments_sheet.column_index(analysis, f) for f in (
            "margin_rate", "clv", "clv_discounted", "margin_to_date", "remaining_margin",
            "lifetime_margin", "model_margin_36m", "model_lifetime_margin")}  # fmt: skip
        for (dimension, segment), r in rows.items():
            seg = analysis.segments.set_index(["dimension", "segment"]).loc[(dimension, segment)]
            m = self.expected_margin(analysis, dimension, segment)
            got = {f: ws.cell(r, c).value for f, c in column.items()}
            assert got["margin_rate"] == pytest.approx(m)
            to_date = seg["revenue"] / seg["customers"] * m
            assert got["margin_to_date"] == pytest.approx(to_date)
            assert got["remaining_margin"] == pytest.approx(seg["remaining_revenue"] * m)
            assert got["lifetime_margin"] == pytest.approx(to_date + seg["remaining_revenue"] * m)
            assert got["lifetime_margin"] >= got["margin_to_date"]  # the bridge adds up
            assert got["model_margin_36m"] == pytest.approx(seg["model_revenue_36m"] * m)
            if np.isnan(seg["clv"]):
                assert got["clv"] in (None, "") and got["clv_discounted"] in (None, "")
                continue
            churn = 1 / seg["lifetime_months"]
            assert got["clv"] == pytest.approx(formulas.clv(seg["arpu"], m, churn))
            assert got["clv_discounted"] == pytest.approx(
                formulas.clv_discounted(seg["arpu"] * m, 1 - churn, i, timing="begin")
            )

    def test_ltv_cac_and_payback_follow(self, changed, analysis):
        values, _, webshop = changed
        seg = analysis.segments.set_index(["dimension", "segment"]).loc[("Channel", "Webshop")]
        m = self.MARGIN + self.SPREAD
        clv = seg["arpu"] * m * seg["lifetime_months"]
        cac = values["CAC"]
        assert cac.cell(webshop, 4).value == pytest.approx(clv)
        assert cac.cell(webshop, 5).value == pytest.approx(formulas.ltv_cac(clv, self.CAC))
        assert cac.cell(webshop, 6).value == pytest.approx(
            formulas.cac_payback(self.CAC, seg["arpu"], m)
        )
        others = [cac.cell(r, 5).value for r in range(6, cac.max_row + 1) if r != webshop]
        assert others and all(v in (None, "") for v in others)  # no CAC, no ratio

    def test_the_summary_follows(self, changed, analysis):
        values, _, _ = changed
        o = analysis.overall
        assert named_value(values, "CLV") == pytest.approx(o["lifetime_revenue"] * self.MARGIN)
        assert named_value(values, "BridgeLifetimeFormula") == pytest.approx(
            (o["revenue"] / o["customers"] + o["remaining_revenue"]) * self.MARGIN
        )
        assert error_cells(values) == []


def test_cac_from_the_command_line_reaches_the_cac_sheet(tmp_path):
    from clv_xl.cli import main

    cac = tmp_path / "cac.csv"
    cac.write_text("Channel;CAC\nWebshop;120,50\n\nAll customers;90\n")
    out = tmp_path / "r.xlsx"
    assert main(["report", str(SAMPLE_FILE), "-o", str(out), "-q", "--cac", str(cac)]) == 0
    ws = openpyxl.load_workbook(out)["CAC"]
    given = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(6, ws.max_row + 1)}
    assert given["Webshop"] == 120.5 and given["All customers"] == 90
    assert given["Newsletter"] is None
    cac.write_text("Channel,CAC\nWebshop,lots\n")
    assert main(["report", str(SAMPLE_FILE), "-o", str(tmp_path / "x.xlsx"), "-q",
                 "--cac", str(cac)]) == 2  # fmt: skip
    assert not (tmp_path / "x.xlsx").exists()


def test_the_analysis_names_its_long_steps(orders):
    """The models' fits are a step of their own in the command's progress (and the bench's
    table), then the segments with the models' ranges."""
    steps: list[str] = []
    analyze(load_orders(orders), progress=steps.append)
    assert steps == [MODEL_STEP, SEGMENTS_STEP]


def test_status_and_model_disagreements_are_named(analysis):
    c = analysis.customers
    assert analysis.prediction.fitted
    overdue = c["active"] & (c["prob_alive"] < 0.05)
    lapsed = ~c["active"] & (c["prob_alive"] > 0.5)
    assert (c["status_note"].str.startswith("Overdue") == overdue).all()
    assert (c["status_note"].str.startswith("Lapsed") == lapsed).all()
    assert (c.loc[~overdue & ~lapsed, "status_note"] == "").all()


def test_rates_are_not_annualised_from_short_tenures(analysis):
    c = analysis.customers
    short = c["tenure_months"] < 3
    assert short.any() and c.loc[short, "orders_per_year"].isna().all()
    long = c[~short]
    expected = long["orders"] / (long["tenure_months"] * 365.25 / 12) * 365.25
    assert long["orders_per_year"].to_numpy() == pytest.approx(expected.to_numpy())


def header_cells_and_lines(page):
    """A printed page's dark header cells (pdfminer's rectangles in the header fill) and its
    lines of text."""
    from pdfminer.layout import LTRect, LTTextLineHorizontal

    header_fill = (0x1F / 255, 0x4E / 255, 0x78 / 255)
    cells, lines = [], []

    def walk(item):
        if isinstance(item, LTRect) and np.allclose(
            item.non_stroking_color or (), header_fill, atol=0.02
        ):
            cells.append(item)
        elif isinstance(item, LTTextLineHorizontal):
            lines.append(item)
            return
        for child in item if hasattr(item, "__iter__") else ():
            walk(child)

    walk(page)
    return cells, lines


class TestOnPaper:
    """The report printed to PDF by LibreOffice (with Calibri's metrics, as Excel prints)."""

    @pytest.fixture(scope="class")
    @classmethod
    def pdf(cls, report, tmp_path_factory):
        return to_pdf(report, tmp_path_factory.mktemp("pdf"))

    @pytest.fixture(scope="class")
    @classmethod
    def pages(cls, pdf):
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LTChar, LTTextContainer

        found = []
        for page in extract_pages(pdf):
            sizes, text = [], []

            def walk(item, sizes=sizes, text=text):
                if isinstance(item, LTChar) and item.upright:  # a turned glyph's size is
                    sizes.append(item.size)  # its width (a chart's vertical axis title)
                elif isinstance(item, LTTextContainer):
                    text.append(item.get_text())
                if hasattr(item, "__iter__") and not isinstance(item, LTChar):
                    for child in item:
                        walk(child)

            walk(page)
            found.append((np.array(sizes), "".join(text)))
        return found

    def test_no_page_prints_below_8_pt(self, pages):
        for number, (sizes, _) in enumerate(pages, start=1):
            assert len(sizes), number
            small = np.mean(sizes < 7.95)  # a stray glyph of a chart may be drawn smaller
            assert small <= 0.03, (number, np.sort(sizes)[:10])

    def test_every_page_has_the_title_and_its_number(self, pages):
        for number, (_, text) in enumerate(pages, start=1):
            assert "Customer lifetime value report, as of" in text
            assert f"Page {number} of {len(pages)}" in text

    def test_header_rows_repeat_on_the_customers_pages(self, pages):
        ids = re.compile(r"^C\d{6}$", re.M)  # the sample's customer ids
        customers = [text for _, text in pages if "\nCustomers\n" in text and ids.search(text)]
        # Row 1 and column A print on every page: its header cell "Customer" is on each.
        headed = [t for t in customers if re.search(r"^Customer$", t, re.M)]
        assert len(customers) >= 3 and len(headed) == len(customers)

    def test_labels_print_whole_where_a_value_stands_next_to_them(self, pages, report):
        """The About sheet's labels (bold, next to their definitions) and the Model sheet's
        side-by-side labels are on paper in full, not cut where the next cell starts."""
        wb = openpyxl.load_workbook(report)
        labels = [c.value for c in wb["About"]["A"][2:] if c.value]
        labels += list(CHOICE_ROWS.values())
        printed = " ".join(" ".join(text.split()) for _, text in pages)
        missing = [label for label in labels if " ".join(label.split()) not in printed]
        assert not missing

    @pytest.mark.parametrize(("sheet", "repeated"), [(segments_sheet.SHEET, 1), ("Cohorts", 2)])
    def test_titles_and_notes_print_whole_on_every_page(self, pdf, report, sheet, repeated):
        """The first columns of the Segments and Cohorts sheets print on every page, cut at
        their width on the pages of the later columns (the titles printed 'Segments: custo'
        and 'Cohorts: how each m' there): a title, section title or note in those columns
        ends within them, one further right starts after them and ends within the page."""
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LAParams

        ws = openpyxl.load_workbook(report)[sheet]
        texts = {  # titles and section titles (12 pt and up) and notes (italic)
            " ".join(cell.value.split()): cell.column
            for row in ws.iter_rows()
            for cell in row
            if isinstance(cell.value, str) and (cell.font.i or (cell.font.sz or 11) >= 12)
        }
        printed = []  # (page, lines of those texts, header cells)
        for page in extract_pages(pdf, laparams=LAParams(line_margin=0)):
            cells, lines = header_cells_and_lines(page)
            if not any(line.get_text().strip() == sheet and line.y1 < 60 for line in lines):
                continue  # not a page of this sheet (its name is in the footer)
            found = [line for line in lines if " ".join(line.get_text().split()) in texts]
            if found and cells:
                printed.append((page.pageid, found, cells))
        # where the repeated columns end: the next column's header cells start on the pages
        # of the later columns (a header row's fill is drawn as one rectangle, but for its
        # repeated columns', which are one too)
        starts = [sorted({round(c.x0) for c in cells}) for _, _, cells in printed]
        edge = min(xs[1] for xs in starts if len(xs) > 1)
        outside = []
        for page, found, cells in printed:
            for line in found:
                if texts[" ".join(line.get_text().split())] <= repeated:
                    inside = line.x1 <= edge + 1
                else:
                    inside = line.x0 >= edge - 1 and line.x1 <= max(c.x1 for c in cells) + 1
                if not inside:
                    outside.append((page, line.get_text().strip()))
        assert len(printed) >= 2 and {c for c in texts.values() if c <= repeated}
        assert not outside

    @pytest.mark.parametrize(
        ("sheet", "row", "on_page", "first_pages"),
        [
            (segments_sheet.SHEET, segments_sheet.FIRST_SECTION_ROW + 1, r"\nSegments\n", None),
            ("Customers", 1, r"^C\d{6}$", 2),  # the pages that list the sample's customers
        ],
    )
    def test_headings_print_whole_within_their_rows(
        self, pdf, pages, report, sheet, row, on_page, first_pages
    ):
        """Each heading of the Segments tables and of the Customers table (on its first
        pages) prints inside its dark header cell: no line of it runs over the cell's edge or
        stands above it (LibreOffice cuts such lines off at the row's edges, so they print
        half or not at all)."""
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LAParams

        headings = openpyxl.load_workbook(report)[sheet][row]
        words = {word for cell in headings if cell.value for word in cell.value.split()}
        numbers = [n for n, (_, text) in enumerate(pages) if re.search(on_page, text, re.M)]
        numbers = numbers[:first_pages]
        assert numbers
        cut = []
        for page in extract_pages(pdf, page_numbers=numbers, laparams=LAParams(line_margin=0)):
            cells, lines = header_cells_and_lines(page)
            assert cells
            for line in lines:
                if not set(line.get_text().split()) <= words:
                    continue
                middle = (line.x0 + line.x1) / 2
                for cell in (c for c in cells if c.x0 <= middle <= c.x1):
                    across = line.y1 > cell.y0 and line.y0 < cell.y1
                    # below the cell's bottom, LibreOffice cuts the line off; a first line's
                    # ascent may stand a little above its top (as it does in every row)
                    over = line.y0 < cell.y0 or line.y1 > cell.y1 + 2.5
                    above = 0 <= line.y0 - cell.y1 < 15
                    if (across and over) or above:
                        cut.append((page.pageid, line.get_text().strip()))
        assert not cut

    def test_the_customers_texts_print_whole(self, pages, analysis):
        """Every text of the Customers table (statuses, tiers, groups, segments) up to the
        widest column's characters prints whole on its pages: LibreOffice cuts a text off
        where the next column's value starts, as Excel does ("Overdue: active by the churn
        window, ..." printed "Overdue: active by t")."""
        frame = customers_sheet.table_frame(analysis)
        texts = {
            " ".join(str(value).split())
            for name in frame.columns
            if not pd.api.types.is_numeric_dtype(frame[name])
            and not pd.api.types.is_datetime64_any_dtype(frame[name])
            for value in frame[name].dropna().unique()
            if len(str(value)) <= customers_sheet.TEXT_WIDTH - 2
        }
        listed = " ".join(
            " ".join(text.split()) for _, text in pages if re.search(r"^C\d{6}$", text, re.M)
        )
        assert {"Overdue", "Lapsed", "Active", "Lost"} <= texts
        assert {text for text in texts if text not in listed} == set()

    def test_neighbouring_headings_print_apart(self, pdf, report):
        """Where two column headings print on one line, the last word of the one and the
        first of the next stand at least 3 pt apart (a space is 2.2 pt): "Std error" over
        figures, right-aligned, ended 1.8 pt before "Unit" began ("Std error Unit"), and
        "Iterations" before "Warnings"; the Cohorts' "Month 9" and "Month 10" stood 1 pt apart,
        in a serif face and columns 11 characters wide ("Month 9Month 10")."""
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LAParams, LTChar

        inner, across = set(), set()  # word pairs inside one heading, across two neighbours
        for ws in openpyxl.load_workbook(report).worksheets:
            for row in ws.iter_rows():
                for left, right in pairwise(row):
                    words = [
                        str(cell.value).split() if cell.fill == style.HEADER.fill else []
                        for cell in (left, right)
                    ]
                    inner.update(pairwise(words[0]), pairwise(words[1]))
                    across.update((a, b) for a in words[0] for b in words[1])
        across -= inner
        gaps = []
        row_as_a_line = LAParams(line_margin=0, char_margin=1000)  # however far apart
        for page in extract_pages(pdf, laparams=row_as_a_line):
            cells, lines = header_cells_and_lines(page)
            for line in lines:
                middle = (line.y0 + line.y1) / 2
                if not any(cell.y0 <= middle <= cell.y1 for cell in cells):
                    continue
                words, glyphs = [], []
                for item in [*line, None]:  # words: runs of glyphs between spaces
                    if isinstance(item, LTChar) and item.get_text().strip():
                        glyphs.append(item)
                    elif glyphs:
                        words.append(("".join(g.get_text() for g in glyphs), glyphs[0], glyphs[-1]))
                        glyphs = []
                gaps += [
                    (first.x0 - last.x1, a, b)
                    for (a, _, last), (b, first, _) in pairwise(words)
                    if (a, b) in across
                ]
        assert len({(a, b) for _, a, b in gaps}) >= 3
        assert len([gap for gap in gaps if gap[1:] == ("9", "Month")]) >= 2  # both matrices
        assert min(gaps) >= (3, "", "")

    def test_no_section_title_prints_apart_from_its_section(self, pdf, pages, report):
        """A section title (Segments' dimensions, the Cohorts' matrices, the Summary's and
        the Model's blocks) has at least its section's next two lines under it on its page:
        none prints alone at a page's foot (the Segments sheet printed "Value tier" there,
        its table on the next page)."""
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LAParams

        wb = openpyxl.load_workbook(report)
        titles = {
            " ".join(cell.value.split())
            for ws in wb.worksheets
            if ws.title != "Customers"
            for cell in ws["A"]
            if isinstance(cell.value, str) and style.is_section_title(cell)
        }
        listed = re.compile(r"^C\d{6}$", re.M)  # the pages of the Customers table
        numbers = [n for n, (_, text) in enumerate(pages) if not listed.search(text)]
        seen, alone = set(), []
        for page in extract_pages(pdf, page_numbers=numbers, laparams=LAParams(line_margin=0)):
            _, lines = header_cells_and_lines(page)
            footer = {line.get_text().strip() for line in lines if line.y1 < 60}
            if footer & {"Customers", "Charts"}:  # headings and chart titles, no sections
                continue
            body = [line for line in lines if line.y0 > 60]  # above the footer
            left = min((line.x0 for line in body), default=0)  # column A's edge
            for line in body:
                text = " ".join(line.get_text().split())
                if text in titles and line.x0 <= left + 2:  # (not a value further right)
                    seen.add(text)
                    if sum(other.y1 <= line.y0 for other in body) < 2:
                        alone.append((page.pageid, text))
        assert len(seen) >= 10 and not alone

    def test_every_chart_prints_whole_on_one_page(self, pdf, pages, report):
        """Each chart's title and its foot (the time axis's title, or the value axis's first
        label under horizontal bars) print on one page, the foot below the title: no chart
        runs across a page's foot (the Charts sheet printed "Share of customers vs share of
        revenue" alone at the foot of a page, its bars on the next). Only text inside the
        margins counts: a chart across a page's foot is drawn whole on both pages, clipped."""
        from html import unescape

        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LAParams

        with zipfile.ZipFile(report) as archive:
            parts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
            charts = [archive.read(n).decode() for n in parts]
        # a chart's own title comes first in its part, before the plot area's axis titles
        titles = [unescape(re.search(r"<(?:a:)?t>(.*?)</(?:a:)?t>", c).group(1)) for c in charts]
        feet = ("Months since first order", "Week", "€0", "0%")
        listed = re.compile(r"^C\d{6}$", re.M)  # the pages of the Customers table
        numbers = [n for n, (_, text) in enumerate(pages) if not listed.search(text)]
        whole = set()
        margin = 0.75 * 72  # the page's margins: a chart drawn across one is clipped there
        for page in extract_pages(pdf, page_numbers=numbers, laparams=LAParams(line_margin=0)):
            _, lines = header_cells_and_lines(page)
            inside = [line for line in lines if margin < line.y0 and line.y1 < page.height - margin]
            texts = [(" ".join(line.get_text().split()), line) for line in inside]
            for title in titles:
                for text, line in texts:
                    if len(text) > 12 and title.startswith(text):  # its first printed line
                        below = [t for t, other in texts if other.y1 <= line.y0]
                        if any(t.startswith(feet) for t in below):
                            whole.add(title)
        assert len(titles) >= 5 and whole == set(titles)

    def test_the_summary_starts_with_its_executive_summary(self, pages):
        first = pages[0][1]
        assert "Executive summary" in first and "A new customer is worth" in first


def test_fully_refunded_customers_expect_nothing_and_so_does_their_range(orders):
    """The analysis sets their forecasts to 0, and the parameter draws behind a segment's
    80% range count them as 0 too: the range is that 0, not one around the model's forecast
    recentred on 0 (which fell below zero). The model read the refunded order as a purchase
    (one order and no repeat: alive for sure); neither that P(alive) nor its spend is shown
    for a customer expected to buy nothing."""
    refunded = orders.iloc[[10, 11]].assign(
        **{"Order ID": ["R-1", "R-2"], "Customer ID": "Refunded in full", "Amount": [60.0, -60.0]}
    )
    with_refunded = pd.concat([orders, refunded], ignore_index=True)
    analysis = analyze(load_orders(with_refunded), Params(min_segment_customers=40))
    model = analysis.customers[["prob_alive", "expected_spend"]]
    assert model.loc["Refunded in full"].isna().all()
    assert model.drop(index="Refunded in full").notna().all().all()
    segments = analysis.segments
    row = segments.set_index(["dimension", "segment"]).loc[("Profitability", "Fully refunded")]
    assert row["customers"] == 1
    range_ = row[["model_revenue_36m", "model_revenue_36m_low", "model_revenue_36m_high"]]
    assert range_.tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(row["prob_alive"])  # blank, not the 100% a history of no repeat gives
    assert (segments["model_revenue_36m_low"] >= 0).all()


def test_each_segment_has_a_model_range_and_a_verdict(analysis):
    s = analysis.segments
    known = s["model_revenue_36m_low"].notna()
    assert known.all()
    assert (s["model_revenue_36m_low"] <= s["model_revenue_36m"]).all()
    assert (s["model_revenue_36m"] <= s["model_revenue_36m_high"]).all()
    assert s["model_margin_36m_low"].to_numpy() == pytest.approx(
        (s["model_revenue_36m_low"] * s["margin_rate"]).to_numpy()
    )
    # 400 customers: under the 500 a trustworthy forecast needs, said in words.
    assert not s["model_trusted"].any() and s["model_verdict"].str.contains("500").all()
