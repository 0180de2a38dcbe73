"""The Excel shells: the ribbon button, the Settings sheet, the add-in build, the report written
into an open workbook (Lite and Server).
"""
