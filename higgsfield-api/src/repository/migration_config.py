"""For Tortoise's own CLI only (`make migrations`):
`python -m tortoise -c src.repository.migration_config.TORTOISE_ORM makemigrations`."""

from src.config import Settings
from src.repository.core import tortoise_config

TORTOISE_ORM = tortoise_config(Settings())
