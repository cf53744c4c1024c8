"""Serializer plumbing shared by every app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializerMixin:
    """Unknown fields in a request body are an error, not silently ignored (typos, mass assignment)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, f in self.fields.items() if not f.read_only}  # type: ignore[attr-defined]
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)  # type: ignore[misc]
