"""Where uploaded images wait until Higgsfield has them: a blob store, not the database.

`store.py` has the interface and the local-directory store; the process uses one store, set up
by the app's lifespan (`install`) from the settings and reached with `current()`, as the ORM's
connections are. The task-level rules (which key, when a blob may go) are in
src/tasks/image_store.py.
"""

from src.blobs.store import BlobStore, LocalBlobStore, current, install, open_store

__all__ = ["BlobStore", "LocalBlobStore", "current", "install", "open_store"]
