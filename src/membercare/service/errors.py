"""Refusals of the service app: a ValidationError naming the field, with a stable code (as care.CareError)."""

from django.core.exceptions import ValidationError


class ServiceError(ValidationError):
    def __init__(self, code: str, message: str, field: str = "__all__"):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.error_code = code
        self.text = message
        self.field = field
