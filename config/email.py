"""The zero-setup mail backend: printed, but to stderr, so commands whose stdout is data
(`scan --json`, exports) stay clean."""

import sys

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend


class StderrConsoleEmailBackend(ConsoleEmailBackend):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)
