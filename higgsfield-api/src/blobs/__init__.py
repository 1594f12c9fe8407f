"""Where uploaded images wait until Higgsfield has them: a local directory or an S3 bucket."""

from src.blobs.store import BlobStore, LocalBlobStore, open_store

__all__ = ["BlobStore", "LocalBlobStore", "open_store"]
