"""The ASGI entry point of `python -m src.cli serve`."""

from src.app_factory import create_app
from src.cli import load_settings_or_exit
from src.core.logs import configure_logging

settings = load_settings_or_exit()
configure_logging(settings)
app = create_app(settings)
