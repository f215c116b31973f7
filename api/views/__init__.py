"""The API's viewsets, one module per area: thin callers. Each loads what it acts on (DRF's
get_object, checked by api/permissions.py with the offers of registry/access.py and
portfolio/access.py), calls a service that authorizes its actor, and answers; domain errors
become HTTP answers once, in api/exceptions.py."""
