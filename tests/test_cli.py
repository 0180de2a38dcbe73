"""`clv-xl report`: exit codes, one-sentence messages, nothing written on bad input."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from clv_xl.cli import main
from clv_xl.errors import InputError
from clv_xl.orders.source import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    WORKBOOK_SUFFIXES,
    check_orders_file,
)
from clv_xl.templates.sample import sample_orders, write_orders

SAMPLE = Path(__file__).parents[1] / "templates" / "sample_orders.xlsx"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workbook(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input with the words its message must contain."""
    text = tmp / "orders.xlsx"
    text.write_text("this is not a workbook")
    corrupt = tmp / "corrupt.xlsx"
    corrupt.write_bytes(SAMPLE.read_bytes()[:5000])
    protected = tmp / "protected.xlsx"
    protected.write_bytes(
        bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le")
    )
    return {
        "empty sheet": (workbook(tmp / "empty.xlsx", []), "nothing in sheet"),
        "missing column": (
            workbook(tmp / "nocustomer.xlsx", [["Date", "Amount"], ["2024-01-01", 5]]),
            "customer",
        ),
        "not a workbook": (text, "not an Excel workbook"),
        "corrupt": (corrupt, "corrupt.xlsx"),
        "password": (protected, "password-protected"),
        "missing file": (tmp / "nowhere.xlsx", "does not exist"),
        "wrong kind": (tmp / "notes.txt", "not a file clv_xl can read"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty sheet", "missing column", "not a workbook", "corrupt", "password", "missing file",
     "wrong kind"],
)  # fmt: skip
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(case, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    path, words = bad_inputs(tmp_path)[case]
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    out = tmp_path / "report.xlsx"
    assert main(["report", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("clv-xl: ") and words.lower() in err.lower(), err
    assert "Traceback" not in err
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before  # nothing new, input unchanged


def test_a_report_and_its_summary(tmp_path, capsys):
    orders = write_orders(sample_orders(customers=300, seed=5), tmp_path / "orders.xlsx")
    before = digest(orders)
    out = tmp_path / "report.xlsx"
    assert (
        main(["report", str(orders), "-o", str(out), "--margin", "25%", "--currency", "USD"]) == 0
    )
    printed = capsys.readouterr()
    assert printed.out.strip().splitlines()[-1] == str(out)
    assert "CLV of a new customer" in printed.out and "Reading orders..." in printed.err
    assert digest(orders) == before
    wb = openpyxl.load_workbook(out)
    sheet, ref = next(iter(wb.defined_names["Margin"].destinations))
    assert wb[sheet][ref.replace("$", "")].value == 0.25


def test_an_existing_report_needs_force(tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    out.write_bytes(b"keep me")
    assert main(["report", str(SAMPLE), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["report", str(SAMPLE), "-o", str(out), "--force", "-q"]) == 0
    assert out.read_bytes()[:2] == b"PK"


def test_the_report_may_not_replace_the_orders(tmp_path, capsys):
    orders = tmp_path / "orders.xlsx"
    orders.write_bytes(SAMPLE.read_bytes())
    assert main(["report", str(orders), "-o", str(orders), "--force"]) == 2
    assert "would overwrite the orders file" in capsys.readouterr().err
    assert orders.read_bytes() == SAMPLE.read_bytes()


def test_bad_parameters_exit_2(tmp_path, capsys):
    assert main(["report", str(SAMPLE), "-o", str(tmp_path / "r.xlsx"), "--margin", "30"]) == 2
    assert "margin must be a fraction" in capsys.readouterr().err
    assert not (tmp_path / "r.xlsx").exists()


def test_usage_errors_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "clv_xl.cli", "report", "x.xlsx", "--as-of", "31-12-2024"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "not a date" in result.stderr


def test_the_command_flushes_its_output_before_the_process_ends(tmp_path):
    """Everything the command prints arrives, and a second run does not replace the report."""
    out = tmp_path / "r.xlsx"
    command = [sys.executable, "-m", "clv_xl.cli", "report", str(SAMPLE), "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(str(out)) and "Customers" in result.stdout
    assert "Streaming the Customers rows" in result.stderr and out.exists()
    again = subprocess.run(command, capture_output=True, text=True)  # exists: no --force
    assert again.returncode == 2 and again.stderr.startswith("clv-xl: ") and not again.stdout


def test_csv_from_a_dutch_excel(tmp_path, capsys):
    orders = write_orders(sample_orders(customers=200, seed=9), tmp_path / "bestellingen.csv")
    out = tmp_path / "r.xlsx"
    assert main(["report", str(orders), "-o", str(out), "-q"]) == 0
    assert pd.read_excel(out, sheet_name="Customers", engine="calamine").shape[0] > 150


def test_addin_commands(tmp_path, capsys):
    assert main(["addin", "build", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "clv_xl.xlam").stat().st_size > 10_000
    if sys.platform.startswith("linux"):  # no Excel here: one clear sentence, exit 2
        capsys.readouterr()
        assert main(["addin", "install"]) == 2
        assert "Excel was not found" in capsys.readouterr().err


def test_templates_build_command(tmp_path, capsys):
    assert main(["templates", "build", "-o", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"clv_calculator.xlsx", "orders_template.xlsx", "clv_functions.xlsx",
            "sample_orders.xlsx"} <= names  # fmt: skip


def csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_analysis_date_long_after_the_last_order_reports_everyone_lost(tmp_path, capsys):
    out = tmp_path / "late.xlsx"
    assert main(["report", str(SAMPLE), "-o", str(out), "-q", "--as-of", "2027-01-01"]) == 0
    wb = openpyxl.load_workbook(out)
    sheet, ref = next(iter(wb.defined_names["Customers"].destinations))
    assert wb[sheet][ref.replace("$", "")].value == 3000
    sheet, ref = next(iter(wb.defined_names["ActiveCustomers"].destinations))
    assert wb[sheet][ref.replace("$", "")].value == 0


def test_a_year_without_orders_leaves_its_revenue_retention_blank(tmp_path):
    orders = csv(tmp_path, "gap.csv", "customer,date,amount\nA,2020-01-05,10\nB,2020-02-01,5\n"
                 "A,2023-03-01,20\nC,2023-06-01,7\n")  # fmt: skip
    out = tmp_path / "gap.xlsx"
    assert main(["report", str(orders), "-o", str(out), "-q"]) == 0


def test_only_refunds_is_one_sentence(tmp_path, capsys):
    orders = csv(
        tmp_path, "refunds.csv", "customer,date,amount\nA,2024-01-01,-10\nB,2024-01-02,-5\n"
    )
    assert main(["report", str(orders), "-o", str(tmp_path / "r.xlsx")]) == 2
    assert "they are all refunds" in capsys.readouterr().err
    assert not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize("name", [".", "report.csv"])
def test_the_report_must_be_an_xlsx_file(name, tmp_path, capsys):
    assert main(["report", str(SAMPLE), "-o", str(tmp_path / name), "--force"]) == 2
    assert "clv-xl: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["report"],
        ["addin"],
        ["addin", "build"],
        ["addin", "install"],
        ["addin", "remove"],
        ["templates"],
        ["templates", "build"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "clv_xl.cli", *command, "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: clv-xl")
    assert "Traceback" not in done.stderr


def test_the_reports_help_names_every_kind_of_orders_file_read() -> None:
    """The help lists the files `load_orders` takes, and only those (it once named three of
    six), as does the sentence for a file of another kind."""
    done = subprocess.run(
        [sys.executable, "-m", "clv_xl.cli", "report", "--help"], capture_output=True, text=True
    )
    read = set(WORKBOOK_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES)
    assert set(re.findall(r"\.[a-z]+\b", done.stdout.split("orders file")[1])) == read
    with pytest.raises(InputError) as refused:
        check_orders_file(Path(__file__))
    assert set(re.findall(r"\.[a-z]+\b", str(refused.value).split(":")[1])) == read
