"""Image-to-video tasks and the input images waiting to be uploaded."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from src.db.models.clients import Client


class TaskStatus(StrEnum):
    PENDING = "pending"
    SUBMITTING = "submitting"  # internal: a worker is sending it now; shown as pending
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    NSFW = "nsfw"
    CANCELED = "canceled"


FINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.NSFW, TaskStatus.CANCELED})
UPSTREAM_STATUSES = frozenset({TaskStatus.QUEUED, TaskStatus.IN_PROGRESS})


class Task(Model):
    id = fields.UUIDField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="tasks", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=16, db_index=True)

    prompt = fields.TextField()
    motion = fields.CharField(max_length=128)
    motion_id = fields.CharField(max_length=64)
    model = fields.CharField(max_length=16)
    duration = fields.SmallIntField()
    metadata = fields.JSONField(null=True)
    motion_strength = fields.FloatField()
    seed = fields.IntField(null=True)
    enhance_prompt = fields.BooleanField(default=False)

    # The image's key in the blob store until Higgsfield has it; NULL before 0006 (see task_images).
    image_key = fields.CharField(max_length=64, null=True)
    image_type = fields.CharField(max_length=32, null=True)
    image_url = fields.TextField(null=True)  # the upstream public_url once uploaded
    # Higgsfield's id of the job: the job set's id on v1, the request_id on v2.
    upstream_job_id = fields.CharField(max_length=64, null=True, unique=True)
    # The API generation the task was sent with (HF_API_VERSION then); older rows were all v1.
    upstream_api = fields.CharField(max_length=4, default="v1", db_default="v1")
    # The account (HF_ACCOUNTS) it is sent with: set when the dispatcher claims it, then kept; NULL
    # for a task never claimed. Tasks sent before 0013 were given the shorthand's name, `default`.
    upstream_account = fields.CharField(max_length=32, null=True)
    video_url = fields.TextField(null=True)
    thumbnail_url = fields.TextField(null=True)
    error = fields.TextField(null=True)
    # The task this one retries (POST /api/higgsfield/i2v/{id}/retry): its id only, answered as is.
    retry_of = fields.UUIDField(null=True)

    # The client's callback: due once the task is final, then retried until delivered or given up.
    callback_url = fields.TextField(null=True)
    callback_due_at = fields.DatetimeField(null=True, db_index=True)
    callback_attempts = fields.IntField(default=0, db_default=0)
    callback_delivered = fields.BooleanField(default=False, db_default=False)
    callback_last_status = fields.IntField(null=True)
    # Why the service stopped trying without a delivery (a refused address, the retry window over).
    callback_error = fields.CharField(max_length=255, null=True)

    # The copy of the outputs in the blob store (src/outputs/): NULL when none is made.
    output_state = fields.CharField(max_length=8, null=True)
    output_error = fields.CharField(max_length=255, null=True)
    output_bytes = fields.BigIntField(null=True)
    output_stored_at = fields.DatetimeField(null=True)
    output_attempts = fields.IntField(default=0, db_default=0)
    # When a pending copy is due: its next try, or the end of the claim of the worker on it.
    output_next_at = fields.DatetimeField(null=True)
    output_claim = fields.CharField(max_length=64, null=True)

    # Work bookkeeping: retries and the claim a worker holds (see src/jobs/claims.py).
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    lease_owner = fields.CharField(max_length=64, null=True, db_index=True)
    lease_until = fields.DatetimeField(null=True)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    submitted_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tasks"
        # (client_id, created_at, id): a page of tasks, newest first, off the index.
        # (status, lease_until): the busy upstream slots, counted on every dispatch round.
        # (output_state, ...): the copies due, and the stored ones past retention.
        indexes = (
            ("client_id", "created_at", "id"),
            ("status", "next_attempt_at"),
            ("status", "lease_until"),
            ("output_state", "output_next_at"),
            ("output_state", "output_stored_at"),
        )


class TaskImage(Model):
    """The client's image, kept until Higgsfield has it, then deleted.
    Only tasks stored before migration 0006 have one: newer images are in the blob store."""

    task: fields.OneToOneRelation[Task] = fields.OneToOneField(
        "models.Task", related_name="image", on_delete=fields.CASCADE, primary_key=True
    )
    content_type = fields.CharField(max_length=32)
    data = fields.BinaryField()

    class Meta:
        table = "task_images"


class CallbackAttempt(Model):
    """One delivery attempt of a task's callback: when, and what the receiver answered."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="callback_attempt_log", on_delete=fields.CASCADE
    )
    attempted_at = fields.DatetimeField()
    status_code = fields.IntField(null=True)
    error = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "callback_attempts"


class IdempotencyKey(Model):
    """The first answer to a create with an Idempotency-Key, replayed for 24 hours."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)  # SHA-256 of the request's fields and image
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    status_code = fields.IntField()
    response = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("client_id", "key"),)
