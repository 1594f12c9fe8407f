"""The ASGI entry point of `python -m src.cli serve`."""

import logging.config

from src.app_factory import create_app
from src.cli import load_settings_or_exit
from src.core.logs import logging_config

settings = load_settings_or_exit()
logging.config.dictConfig(logging_config(settings.log_level))
app = create_app(settings)
