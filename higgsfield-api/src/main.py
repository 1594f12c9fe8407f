"""The ASGI entry point: `uvicorn src.main:app` (see `python -m src.cli serve`)."""

from src.app_factory import create_app
from src.cli import load_settings_or_exit

app = create_app(load_settings_or_exit())
