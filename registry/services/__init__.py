from ._old import *  # noqa: F401,F403  (split by entity in the next commit)
from core.text import normalise_email  # noqa: F401
