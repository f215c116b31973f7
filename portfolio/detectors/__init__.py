"""The detectors: plain functions of (as_of, policy) returning a list of Detected.

Each is set-based — a handful of queries whatever the portfolio's size.
"""
