from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_image_blobs')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Task',
            name='callback_error',
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
