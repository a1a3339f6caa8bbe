"""Form pieces shared by the areas: a service's errors put next to their fields, a staff picker."""

from django import forms
from django.core.exceptions import ValidationError

from membercare.org.models import Staff


def add_service_errors(form: forms.Form, exc: ValidationError, field_for=None) -> None:
    """Put a service's errors (keyed by field or settings path) next to the form field they concern."""
    for key, errors in exc.error_dict.items():
        name = field_for(key) if field_for else key
        form.add_error(name if name in form.fields else None, errors)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Staff) -> str:
        return f"{obj} · {obj.get_role_display()}"
