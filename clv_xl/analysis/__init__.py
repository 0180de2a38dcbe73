"""The analysis: customers, lifetimes and churn, segments, cohorts, predictions, the CLV bridge.

Numbers and frames only; nothing here imports openpyxl or xlwings.
"""
