"""`make bench`: the service under load next to a bare FastAPI baseline (see run.py)."""
