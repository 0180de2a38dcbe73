"""clv_xl in xlwings Lite: paste this into the workbook's main.py (xlwings Lite editor).

It registers every clv_xl worksheet function (=CLV, =BGNBD_FIT, ...) and the task-pane
button "clv_report_sheets", which writes the CLV segment report into this workbook.
The packages are in requirements.txt, next to this file.
"""

from clv_xl.lite import *  # noqa: F403
