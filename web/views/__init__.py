"""The pages, one module per area. Each view loads what it acts on through an access function
(load and check in one call: registry/access.py, portfolio/access.py), reads with a selector,
writes with a service, and renders a template. An htmx request gets just the fragment it
replaces; without JavaScript every action is a plain form POST followed by a redirect. A
service's refusal is shown once, by web/errors.py."""
