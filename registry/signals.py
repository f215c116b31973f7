"""Signals the registry sends for the apps above it to act on, without importing them."""

from django.dispatch import Signal

# Sent, with `use_case_ids`, from inside the write's transaction when use cases are created or
# their title or summary changes: the text the duplicates scan embeds (portfolio.embeddings).
texts_changed = Signal()
