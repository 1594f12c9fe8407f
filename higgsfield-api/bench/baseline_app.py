"""The baseline: a bare FastAPI app on the service's Uvicorn settings.

`GET /json` answers a constant JSON object, `POST /echo` parses a multipart upload (an image
and a text field, as a task creation has) and answers with what it read. The service's
numbers are divided by these: what is left is the service's own cost, not the framework's
or the machine's.

    python -m bench.baseline_app PORT
"""

from __future__ import annotations

import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, File, Form, UploadFile

app = FastAPI()
CONSTANT = {"status": "ok", "message": "hello"}


@app.get("/json")
async def constant() -> dict:
    return CONSTANT


@app.post("/echo")
async def echo(image: Annotated[UploadFile, File()], prompt: Annotated[str, Form()] = "") -> dict:
    data = await image.read()
    return {"size": len(data), "content_type": image.content_type, "prompt": prompt}


def serve(app: str) -> None:
    """`app` ("module:attribute") on port argv[1], as `python -m src.cli serve` runs the service:
    one worker, uvicorn's default loop and HTTP parser (uvloop, httptools), proxy headers; no
    access log (the service writes its own line)."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        proxy_headers=True,
        access_log=False,
        log_level="warning",
    )


def main() -> None:
    serve("bench.baseline_app:app")


if __name__ == "__main__":
    main()
