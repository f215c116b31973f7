"""ETags and If-Match: no lost updates.

A versioned record (use case, decision) has the ETag `"<model>-<pk>-v<version>"`; other
records a digest of what the API shows of them. A write carries the ETag it read as
If-Match (or, where If-Match is not required, the version it read as `version`); a stale
one is refused with 412. Edits (PUT, PATCH) of use cases and decisions require If-Match: 428.
"""

from __future__ import annotations

import hashlib
import json
import re

from django.core.serializers.json import DjangoJSONEncoder

from .exceptions import PreconditionFailed, PreconditionRequired

_VERSION_TAG = re.compile(r'^(?:W/)?"(?P<model>[a-z_]+)-(?P<pk>\d+)-v(?P<version>\d+)"$')


def etag_for(instance, data=None) -> str:
    if hasattr(instance, "version"):
        return f'"{instance._meta.model_name}-{instance.pk}-v{instance.version}"'
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _if_match_tags(request) -> list[str] | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def expected_version(request, instance, *, body_version: int | None, required: bool) -> int | None:
    """The version the caller read, from If-Match or the body; refuses 412/428 at once when it is plainly stale.

    With `required` (the edits of use cases and decisions), If-Match is required, as the schema
    says: without it the answer is 428, a `version` in the body or not (one sent with it must agree).
    The service compares it again under a row lock, which is what makes the check race-free.
    """
    tags = _if_match_tags(request)
    if required and tags is None:
        raise PreconditionRequired()
    if tags is not None:
        if "*" in tags:
            return body_version
        for tag in tags:
            match = _VERSION_TAG.match(tag)
            if match and match["model"] == instance._meta.model_name and int(match["pk"]) == instance.pk:
                version = int(match["version"])
                if body_version is not None and body_version != version:
                    raise PreconditionFailed("If-Match and `version` disagree; send the one you read.")
                if version != instance.version:
                    raise PreconditionFailed(
                        f"This {instance._meta.verbose_name} is at version {instance.version}, not {version}: "
                        "someone changed it since you read it. Nothing was written."
                    )
                return version
        raise PreconditionFailed("If-Match names no current version of this resource. Nothing was written.")
    if body_version is not None:
        return body_version
    if required:
        raise PreconditionRequired()
    return None


def check_if_match(request, current_etag: str) -> None:
    """For records without a version: a given If-Match must name the current representation (a blank
    one names nothing, as if it were not sent)."""
    tags = _if_match_tags(request)
    if not tags or "*" in tags:
        return
    weakless = {tag.removeprefix("W/") for tag in tags}
    if current_etag not in weakless:
        raise PreconditionFailed()
