"""Serializer plumbing shared by every app."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.settings import api_settings


class StrictSerializerMixin:
    """Unknown fields in a request body are an error, not silently ignored (typos, mass assignment)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, Any] = {}
        if isinstance(data, dict):
            known: frozenset[str] | None = self.__dict__.get("_strict_known")
            if known is None:  # the fields are fixed once built: once per instance
                fields = self.fields.items()  # type: ignore[attr-defined]
                known = frozenset(name for name, f in fields if not f.read_only)
                self.__dict__["_strict_known"] = known
            unknown = {
                name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for name in sorted(data.keys() - known)
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


class CachedFieldsMixin:
    """Builds a serializer class's fields once per process and gives each instance a deep copy,
    as DRF does with declared fields. `ModelSerializer.get_fields` introspects the model on every
    instantiation (0.3-0.5 ms for a record serializer, paid by every create and every response);
    copying the built fields costs a fraction of that.

    Only for serializers whose fields depend on nothing but the class: not on the context, the
    instance or the data (a subclass that overrides `get_fields` to adapt them per request still
    can, on top of the copy)."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built: dict[str, Any] | None = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            cls._built_fields = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)


class ContextFreeSerializerMixin(CachedFieldsMixin):
    """For serializers whose fields, validation and output depend on nothing but the class: not
    on the context (the request), the instance or the data. One instance per class and process,
    its fields built and bound once, then validates and renders for every request
    (`validate_data`, `represent`): DRF's fields keep no state while they validate or render, so
    the instance is shared between threads. Serializers that scope a field to the caller, or
    change their fields per request, must not use it.

    `to_internal_value` is DRF's, with what it works out for every field on every call worked
    out once per instance (the writable fields, their `validate_<name>` methods), and an absent
    optional field without a default skipped without raising `SkipField` to get there (a sync
    push validates hundreds of records with one instance, most of their optional fields absent);
    `run_validators` does nothing when there are no validators, as DRF's would, without
    preparing their input first.
    """

    def run_validators(self, value: Any) -> None:
        # DRF copies the value and gathers the read-only fields' defaults for the validators
        # even when there are none (a record serializer has none: no unique-together fields).
        if self.validators:  # type: ignore[attr-defined]
            super().run_validators(value)  # type: ignore[misc]

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # type: ignore[misc]  # DRF's error
        plan: tuple[_Writable, ...] | None = self.__dict__.get("_writable_plan")
        if plan is None:
            plan = tuple(_Writable.of(self, field) for field in self._writable_fields)  # type: ignore[attr-defined]
            self.__dict__["_writable_plan"] = plan
        ret: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        plain = type(data) is dict  # JSON; a QueryDict (a form) takes DRF's HTML rules
        for item in plan:
            field = item.field
            if plain and item.plain_get:
                primitive = data.get(item.name, empty)
            else:
                primitive = field.get_value(data)
            if primitive is empty and item.skip_when_absent:
                continue  # what validate_empty_values() does, by raising SkipField
            try:
                value = field.run_validation(primitive)
                if item.validate is not None:
                    value = item.validate(value)
            except serializers.ValidationError as exc:
                errors[item.name] = exc.detail
            except DjangoValidationError as exc:
                errors[item.name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                if len(item.source_attrs) == 1:
                    ret[item.source_attrs[0]] = value
                else:
                    self.set_value(ret, item.source_attrs, value)  # type: ignore[attr-defined]
        if errors:
            raise serializers.ValidationError(errors)
        return ret


@dataclass(frozen=True)
class _Writable:
    """What `Serializer.to_internal_value` needs of one writable field, worked out once."""

    name: str
    field: Any
    source_attrs: list[str]
    validate: Any
    plain_get: bool  # get_value(data) is data.get(name, empty) for a JSON object
    skip_when_absent: bool  # absent: SkipField (not required, no default)

    @classmethod
    def of(cls, serializer: Any, field: Any) -> _Writable:
        return cls(
            name=field.field_name,
            field=field,
            source_attrs=field.source_attrs,
            validate=getattr(serializer, "validate_" + field.field_name, None),
            plain_get=type(field).get_value is serializers.Field.get_value,
            skip_when_absent=not field.required and field.default is empty,
        )


_shared: dict[type[Any], serializers.BaseSerializer[Any]] = {}


def _shared_instance(serializer_class: type[Any]) -> Any:
    instance = _shared.get(serializer_class)
    if instance is None:
        instance = serializer_class()
        _build(instance)  # everything lazy is built before the instance is shared
        _shared[serializer_class] = instance
    return instance


def _build(field: Any) -> None:
    field.validators  # noqa: B018 - built on first access
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        _build(field.child)
    elif isinstance(field, serializers.Serializer):
        for child in field.fields.values():
            _build(child)


def validate_data(
    serializer_class: type[Any], data: Any, *, context: Mapping[str, Any]
) -> dict[str, Any]:
    """`serializer_class(data=data, context=context).is_valid(raise_exception=True)` and its
    validated data, with the class's shared instance when it is context-free."""
    if not issubclass(serializer_class, ContextFreeSerializerMixin):
        serializer = serializer_class(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
    try:
        return _shared_instance(serializer_class).run_validation(data)
    except serializers.ValidationError as exc:
        detail = exc.detail
        if (
            isinstance(detail, list)
            and len(detail) == 1
            and getattr(detail[0], "code", "") == "null"
        ):
            # What is_valid() says of a missing body (Serializer.errors).
            no_data = serializers.ErrorDetail("No data provided", code="null")
            detail = {api_settings.NON_FIELD_ERRORS_KEY: [no_data]}
        raise serializers.ValidationError(detail) from None


def represent(serializer_class: type[Any], instance: Any, *, context: Mapping[str, Any]) -> Any:
    """`serializer_class(instance, context=context).data`, with the class's shared instance when
    it is context-free."""
    if not issubclass(serializer_class, ContextFreeSerializerMixin):
        return serializer_class(instance, context=context).data
    return _shared_instance(serializer_class).to_representation(instance)
