"""The upstream motion catalog, cached here and refreshed by a scheduler job."""

from tortoise import fields
from tortoise.models import Model


class Motion(Model):
    id = fields.CharField(max_length=64, primary_key=True)  # Higgsfield's motion uuid
    name = fields.CharField(max_length=128, unique=True)  # normalised: "CRASH_ZOOM_IN"
    title = fields.CharField(max_length=255)  # as Higgsfield names it: "Crash Zoom In"
    description = fields.TextField(null=True)
    preview_url = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "motions"
