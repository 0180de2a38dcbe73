"""Closed-form functions: the seed formulas, the argument rules, the models behind
worksheet functions.

Numbers in, numbers out (numpy and scipy only); nothing here knows pandas, files or Excel.
"""
