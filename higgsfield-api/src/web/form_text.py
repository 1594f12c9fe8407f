"""The text fields of a multipart form, judged by their bytes as the app reads them: Starlette
silently decodes text that is not UTF-8 as Latin-1. The first field at fault (not UTF-8, or a file
where text belongs) is kept for the form dependency's 422."""

import codecs

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

STATE_KEY = "form_problem"


class FormTextCheck:
    _decoder: codecs.IncrementalDecoder | None

    def __init__(self, content_type: str, file_fields: frozenset[str]) -> None:
        self.file_fields = file_fields
        self.problem: tuple[str, str] | None = None
        self._part_begin()
        _, params = parse_options_header(content_type)
        charset = params.get(b"charset", b"utf-8").decode("latin-1").lower()
        boundary = params.get(b"boundary")
        self._parser: MultipartParser | None = None
        if charset not in ("utf-8", "utf8"):
            self.problem = ("body", "form fields must be sent as UTF-8 (charset=utf-8)")
        elif boundary:
            self._parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._part_begin,
                    "on_header_field": self._header_field,
                    "on_header_value": self._header_value,
                    "on_header_end": self._header_end,
                    "on_headers_finished": self._headers_finished,
                    "on_part_data": self._part_data,
                    "on_part_end": self._part_end,
                },
            )

    def feed(self, chunk: bytes) -> None:
        """Reads the next piece of the body; a body that is not multipart is left to the app."""
        if self._parser is None or self.problem is not None or not chunk:
            return
        try:
            self._parser.write(chunk)
        except Exception:  # malformed framing: Starlette's own parse of the body answers it
            self._parser = None

    def _refuse(self, problem: str) -> None:
        if self.problem is None:
            self.problem = (self._name, problem)
        self._decoder = None

    def _part_begin(self) -> None:
        self._name, self._disposition, self._header, self._value, self._decoder = "", b"", b"", b"", None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name in self.file_fields:
            return
        if b"filename" in options:
            self._refuse(f"{self._name} is a text field: send it as text, not as a file")
        else:
            self._decoder = codecs.getincrementaldecoder("utf-8")()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._decode(data[start:end], final=False)

    def _part_end(self) -> None:
        self._decode(b"", final=True)

    def _decode(self, data: bytes, *, final: bool) -> None:
        if self._decoder is None:
            return
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError:
            self._refuse(f"{self._name} is not valid UTF-8 text")
