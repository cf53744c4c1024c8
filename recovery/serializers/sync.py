"""Shapes of the sync endpoints (`/api/v1/sync/`), for the schema and generated mobile clients.

The pull and push bodies are built by `recovery.sync` as plain data (a page of mixed records is
rendered by each record's own resource serializer); these serializers state their shape.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from backend.api.schema import FieldErrorSerializer
from recovery.serializers.injuries import InjuryCreateSerializer, InjurySerializer
from recovery.serializers.massage import MassageSessionCreateSerializer, MassageSessionSerializer
from recovery.serializers.soreness import SorenessReportCreateSerializer, SorenessReportSerializer
from recovery.serializers.training import (
    TrainingSessionCreateSerializer,
    TrainingSessionSerializer,
)
from recovery.sync.protocol import MAX_PUSH_RECORDS, ChangeKind, ChangeOp, PushKind, PushResult


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="SyncRecord",
        serializers=[
            TrainingSessionSerializer,
            SorenessReportSerializer,
            MassageSessionSerializer,
            InjurySerializer,
        ],
        resource_type_field_name=None,
    )
)
class SyncRecordField(serializers.DictField):
    """The record as its own endpoint renders it; which one is said by the change's `kind`."""


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="SyncPushRecordData",
        serializers=[
            TrainingSessionCreateSerializer,
            SorenessReportCreateSerializer,
            InjuryCreateSerializer,
            MassageSessionCreateSerializer,
        ],
        resource_type_field_name=None,
    )
)
class SyncPushDataField(serializers.DictField):
    """The body the record's own create endpoint takes; which one is said by `kind`."""


class SyncChangeSerializer(serializers.Serializer):
    """One change since the cursor. Apply the changes of a page in order."""

    kind = serializers.ChoiceField(
        choices=ChangeKind.choices,
        help_text="The record's kind, or `athlete` for a removal.",
    )
    op = serializers.ChoiceField(
        choices=ChangeOp.choices,
        help_text="`upsert`: store `data` under `id` (created, changed, or newly visible). "
        "`delete`: a tombstone, forget the record `id` (deleted, or no longer visible to you). "
        "`remove` (kind `athlete`): you no longer see this athlete; forget them and every "
        "record of theirs.",
    )
    id = serializers.UUIDField(help_text="The record's id; for `remove`, the athlete's user id.")
    changed_at = serializers.DateTimeField(
        help_text="When it changed (server clock); in a snapshot, the record's `updated_at`. "
        "For display only: order by the page, never by this time."
    )
    data = SyncRecordField(  # type: ignore[assignment]
        required=False,
        help_text="Only for `upsert`: the record as its endpoint renders it for you now (a "
        "massage session has `clinical_notes` only where you may read them).",
    )


class SyncPullResponseSerializer(serializers.Serializer):
    """A page of changes, in the order to apply them, and where to continue."""

    changes = SyncChangeSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Opaque. Store it once the page is applied, and send it as `since` next time "
        "(also when `has_more` is false: it is where the next pull starts)."
    )
    has_more = serializers.BooleanField(
        help_text="True: pull again now with `next_cursor` (a page may come back empty)."
    )


class SyncPushRecordSerializer(serializers.Serializer):
    """One record to create: its kind and the body its own create endpoint takes."""

    kind = serializers.ChoiceField(
        choices=PushKind.choices,
        help_text="`massage_session`: therapists only. An unknown kind makes only this record "
        "`invalid`.",
    )
    data = SyncPushDataField(  # type: ignore[assignment]
        help_text="The create body of that kind, with the client-generated `id` (keep it: it "
        "makes the push safe to repeat)."
    )


@extend_schema_serializer(component_name="SyncPush")  # "SyncPushRequest" in the request direction
class SyncPushRequestSerializer(serializers.Serializer):
    """Records created offline, of mixed kinds."""

    records = SyncPushRecordSerializer(  # type: ignore[call-arg]
        many=True,
        max_length=MAX_PUSH_RECORDS,
        help_text=f"At most {MAX_PUSH_RECORDS} (more is a 413 `sync_batch_too_large`: split "
        "the batch).",
    )


class SyncPushResultSerializer(serializers.Serializer):
    """What happened to one pushed record."""

    index = serializers.IntegerField(help_text="Its position in `records`, from 0.")
    kind = serializers.ChoiceField(
        choices=PushKind.choices,
        allow_null=True,
        help_text="The record's kind; null when it was not a known one.",
    )
    id = serializers.UUIDField(
        allow_null=True,
        help_text="The record's id (the client's, or the one the server gave it); null when "
        "the record did not get that far.",
    )
    result = serializers.ChoiceField(
        choices=PushResult.choices,
        help_text="`created`: stored. `unchanged`: already stored with this content (a retry), "
        "nothing done. `conflict`: this id holds a different record (yours changed since, or "
        "another one): the stored one comes with the next pull; give new records new ids. "
        "`invalid`: see `errors`, keep it for the user to fix, then push it again. "
        "`forbidden`: your role may not create it (e.g. a massage session unless you are the "
        "athlete's therapist).",
    )
    code = serializers.CharField(
        required=False,
        help_text="For conflict, invalid and forbidden: `id_conflict`, `validation_error`, "
        "`permission_denied`.",
    )
    detail = serializers.CharField(required=False, help_text="A sentence for people.")
    errors = FieldErrorSerializer(  # type: ignore[assignment]
        many=True,
        required=False,
        help_text="For `invalid`: each bad field, with dotted paths such as "
        "`data.entries.0.severity` or `kind`.",
    )


class SyncPushCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    conflict = serializers.IntegerField()
    invalid = serializers.IntegerField()
    forbidden = serializers.IntegerField()


class SyncPushResponseSerializer(serializers.Serializer):
    """A result per record, in the order sent, and how many of each."""

    results = SyncPushResultSerializer(many=True)
    counts = SyncPushCountsSerializer()
