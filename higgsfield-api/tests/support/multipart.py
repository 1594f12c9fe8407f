"""A create's multipart body written out by hand, so that its text fields can hold any bytes."""

from __future__ import annotations

import uuid

from tests.support.images import png


def multipart(fields: dict[str, bytes], image: bytes | None = None) -> tuple[bytes, str]:
    """The body and its Content-Type: the text fields as given, then the image (a small PNG)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="in.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + (image or png())
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
