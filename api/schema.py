"""OpenAPI: every operation also documents the errors it can answer with.

Views declare what they need (`versioned` for the 428/412 pair); everything else follows
from the method and the path, so no endpoint can forget its 401, 403, 404 or 429.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from .serializers import ErrorSerializer, StaleSerializer

VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": True,
    "description": "A message (list of strings) per field; `non_field_errors` for the whole body.",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class LastMileAutoSchema(AutoSchema):
    def _is_detail(self) -> bool:
        return "{" in self.path

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_detail() and self.method in UNSAFE:
            parameters.append(OpenApiParameter(
                "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                description="The ETag you read; a stale one is refused with 412 and nothing is written.",
            ))
        if self._is_detail() and self.method == "GET" and "history" not in self.path:
            parameters.append(OpenApiParameter(
                "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                description="An ETag you hold: if it is still current the answer is 304 with no body.",
            ))
        if self._is_detail() or self.method == "POST":
            parameters.append(OpenApiParameter(
                "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, response=["200", "201"],
                description="The version of the representation; send it back as If-Match.",
            ))
        return parameters

    def _error(self, responses, code, serializer, description, direction):
        if code in responses:
            return
        response = self._get_response_for_code(serializer, code, direction=direction)
        response["description"] = description
        responses[code] = response

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        view = self.view
        self._error(responses, "401", ErrorSerializer, "Not authenticated: send `Authorization: Token <key>` or sign in.", direction)
        self._error(responses, "403", ErrorSerializer, "Your role does not allow this (auditors change nothing; owners change only what they own).", direction)
        self._error(responses, "429", ErrorSerializer, "Throttled: too many requests; retry after the Retry-After seconds.", direction)
        if self._is_detail():
            self._error(responses, "404", ErrorSerializer, "No such record.", direction)
        if self._is_detail() and self.method == "GET" and "200" in responses and "history" not in self.path:
            responses["304"] = {"description": "Not modified: If-None-Match names the current ETag."}
        if self.method == "GET" and not self._is_detail():
            self._error(responses, "400", VALIDATION_ERROR, "A filter parameter is invalid (message per parameter).", direction)
            self._error(responses, "404", ErrorSerializer, "No such page or cursor.", direction)
        if self.method in UNSAFE:
            self._error(responses, "400", VALIDATION_ERROR, "Invalid input: a message per field.", direction)
            self._error(responses, "415", ErrorSerializer, "Send JSON (Content-Type: application/json).", direction)
        if self.method in UNSAFE and self._is_detail():
            self._error(responses, "412", StaleSerializer, "Stale If-Match or version: someone changed it since you read it; nothing was written.", direction)
            if getattr(view, "versioned", False) and self.method in {"PUT", "PATCH"}:
                self._error(responses, "428", ErrorSerializer, "No If-Match header and no `version`: say which version you are changing.", direction)
        return responses
