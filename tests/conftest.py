"""Test set-up shared by every test module.

xlwings decides at its first import what ``xw.func`` is: with these two
variables it is xlwings' Office.js machinery (``xlwings.server``), which runs on
Linux under xlwings' noncommercial licence terms. They must be set before
anything imports xlwings, hence here, at the top of the root conftest.
"""

import os

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
