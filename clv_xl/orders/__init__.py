"""Orders in: header vocabulary (EN/NL), reading files into typed columns, row accounting.

Nothing here knows the analysis or Excel.
"""
