"""For Tortoise's own CLI only (`make migrations`):
`python -m tortoise -c src.db.migration_config.TORTOISE_ORM makemigrations`."""

from src.core.config import Settings
from src.db.orm import tortoise_config

TORTOISE_ORM = tortoise_config(Settings())
