"""Reads of the registry shared by the pages, the API and the portfolio's selectors."""
