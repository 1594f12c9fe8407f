"""Where uploaded images wait until Higgsfield has them: a blob store, not the database.

`store.py` has the interface and the local-directory store, `s3.py` the S3-compatible bucket
(BLOB_S3_BUCKET). The process uses one store, opened by the app's lifespan from the settings
(`open_store`, `install`) and reached with `current()`, as the ORM's connections are. The
task-level rules (which key, when a blob may go) are in src/tasks/image_store.py.
"""

from src.blobs.store import BlobStore, LocalBlobStore, current, install, open_store

__all__ = ["BlobStore", "LocalBlobStore", "current", "install", "open_store"]
