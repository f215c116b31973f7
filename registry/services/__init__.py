"""Every write to the registry, by entity. Each service takes the acting person (`actor`,
required) and refuses with `core.errors.NotAllowed` what that actor may not do, judged on the
state the write would leave (registry/access.py has the rules)."""
