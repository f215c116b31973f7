"""The demo portfolio and its logins (`manage.py seed_demo`). It may import every app; no app
imports it."""
