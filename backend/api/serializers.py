"""Serializer plumbing shared by every app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializerMixin:
    """Unknown fields in a request body are an error, not silently ignored (typos, mass assignment)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, Any] = {}
        if isinstance(data, dict):
            known = {name for name, f in self.fields.items() if not f.read_only}  # type: ignore[attr-defined]
            unknown = {
                name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for name in sorted(set(data) - known)
            }
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
