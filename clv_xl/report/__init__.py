"""The segment report workbook (openpyxl): one module per sheet, put together in
`clv_xl.report.workbook` (``write_report``, ``build``).

This package's ``__init__`` imports nothing, so that the command can check its output
(`destination`) before it reads the orders, and import openpyxl while fastexcel reads them.
"""
