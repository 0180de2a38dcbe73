"""Excel's dates: serial numbers of days in its 1900 date system.

Serial 0 is 1899-12-30, so that serial 61 is 1 March 1900 (Excel counts a 29 February 1900
that was not, as Lotus 1-2-3 did: serials from March 1900 on are these days since epoch).
"""

from __future__ import annotations

import datetime as dt

#: Day 0 of Excel's 1900 date system (for serials from March 1900).
EXCEL_EPOCH = dt.date(1899, 12, 30)
