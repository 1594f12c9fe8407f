"""Where uploaded images wait until Higgsfield has them: a blob store, not the database.

`store.py` has the interface and the local-directory store, `s3.py` the S3-compatible bucket
(BLOB_S3_BUCKET). The app's lifespan opens one store from the settings (`open_store`) and hands
it to the jobs (their context) and the routes (a dependency). The task-level rules (which key,
when a blob may go) are in src/tasks/image_store.py.
"""

from src.blobs.store import BlobStore, LocalBlobStore, open_store

__all__ = ["BlobStore", "LocalBlobStore", "open_store"]
