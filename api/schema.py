"""OpenAPI: every operation also documents the errors it can answer with, and the schema
says what the server accepts.

Views declare what they need (`versioned` for the 428/412 pair and a required If-Match on
PUT and PATCH); everything else follows from the method and the path, so no endpoint can
forget its 401, 403, 404, 429 or 500. A request body of a strict serializer admits no
property but its writable fields (`additionalProperties: false`), and each field states what
its serializer field reads: ids from 1, decimals as strings of digits, text without NUL and,
where it must not be blank, with something besides spaces, lists that must not be empty.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers as drf_serializers

from . import serializers as s
from .serializers import ErrorSerializer, StaleSerializer

VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": True,
    "description": "A message (list of strings) per field; `non_field_errors` for the whole body.",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _request_field_schema(field, schema: dict) -> None:
    """Make `schema` (a request body property) say what `field` reads."""
    if isinstance(field, s.Text):
        schema["pattern"] = s.NO_NUL_PATTERN if field.allow_blank else s.NOT_BLANK_PATTERN
    elif isinstance(field, s.Decimal):
        schema["pattern"] = field.pattern
    elif isinstance(field, s.RelatedId):
        schema.update(minimum=1, maximum=s.MAX_ID)
    elif isinstance(field, (drf_serializers.ListField, drf_serializers.ListSerializer)) and not field.allow_empty:
        schema["minItems"] = max(schema.get("minItems", 0), 1)
    elif isinstance(field, drf_serializers.ManyRelatedField) and isinstance(field.child_relation, s.Code):
        schema["items"] = {**schema.get("items", {}), "type": "string",
                           "maxLength": field.child_relation.max_length, "pattern": s.NO_NUL_PATTERN}


class LastMileAutoSchema(AutoSchema):
    def _is_detail(self) -> bool:
        return "{" in self.path

    def _if_match_required(self) -> bool:
        return getattr(self.view, "versioned", False) and self.method in {"PUT", "PATCH"}

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, s.StrictMixin):
            schema["additionalProperties"] = False
            for name, field in serializer.fields.items():
                if name in schema.get("properties", {}) and not field.read_only:
                    _request_field_schema(field, schema["properties"][name])
        return schema

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "path" and parameter["name"] == "id":
                parameter["schema"] = {**parameter["schema"], "type": "integer", "minimum": 1, "maximum": s.MAX_ID}
        return parameters

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_detail() and self.method in UNSAFE:
            if self._if_match_required():
                parameters.append(OpenApiParameter(
                    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                    description=("Required: the ETag you read. A stale one is refused with 412 and nothing is written; "
                                 "without it the answer is 428. A `version` sent in the body must agree with it."),
                ))
            else:
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
        self._error(responses, "401", ErrorSerializer, "Not authenticated: send `Authorization: Token <key>` or sign in.", direction)
        self._error(responses, "403", ErrorSerializer, "Your role does not allow this (auditors change nothing; owners change only what they own).", direction)
        self._error(responses, "429", ErrorSerializer, "Throttled: too many requests; retry after the Retry-After seconds.", direction)
        self._error(responses, "500", ErrorSerializer, "Server error: a bug, logged for the administrators; the body says nothing of it.", direction)
        if self._is_detail():
            self._error(responses, "404", ErrorSerializer, "No such record.", direction)
        if self._is_detail() and self.method == "GET" and "200" in responses and "history" not in self.path:
            responses["304"] = {"description": "Not modified: If-None-Match names the current ETag."}
        if self.method == "GET" and (not self._is_detail() or self._is_list_view()):
            self._error(responses, "400", VALIDATION_ERROR, "A filter or page parameter is invalid (message per parameter).", direction)
            self._error(responses, "404", ErrorSerializer, "No such page or cursor.", direction)
        if self.method in UNSAFE:
            self._error(responses, "400", VALIDATION_ERROR, "Invalid input: a message per field.", direction)
            self._error(responses, "415", ErrorSerializer, "Send JSON (Content-Type: application/json).", direction)
        if self.method in UNSAFE and self._is_detail():
            self._error(responses, "412", StaleSerializer, "Stale If-Match or version: someone changed it since you read it; nothing was written.", direction)
            if self._if_match_required():
                self._error(responses, "428", ErrorSerializer, "No If-Match header: say which version you are changing.", direction)
        return responses
