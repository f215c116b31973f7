"""Reads of the portfolio shared by the pages and the API: the findings inbox (`findings`) and
the portfolio dashboard's figures (`dashboard`)."""
