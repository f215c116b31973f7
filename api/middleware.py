"""Statements prepared on the server for API requests only."""

from django.conf import settings
from django.db import connection

API_PREFIX = "/api/"


class PreparedStatementsMiddleware:
    """An API request runs the same few statements again and again (a use case's detail read
    by id), and PostgreSQL spent longer planning the detail's ten joins than running them: in
    an API request, a statement this connection has run DATABASE_PREPARE_THRESHOLD times is
    prepared and planned once. Pages, commands and workers plan every statement for its values:
    theirs depend on the values (an owner's decisions), and one plan for every value made several
    pages slower."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.PREPARE_THRESHOLD is None or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        # Set as each statement runs: a request that reads nothing (the schema) opens no connection.
        with connection.execute_wrapper(_prepared_once_run_enough):
            try:
                return self.get_response(request)
            finally:
                if connection.connection is not None:
                    connection.connection.prepare_threshold = None


def _prepared_once_run_enough(execute, sql, params, many, context):
    context["connection"].connection.prepare_threshold = settings.PREPARE_THRESHOLD
    return execute(sql, params, many, context)
