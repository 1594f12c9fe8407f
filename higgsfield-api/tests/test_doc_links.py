"""The Markdown docs hold together: links between them lead somewhere, the README's walk-through
uses real routes, form fields, files and settings, and the configuration doc names every setting.

The docs live around higgsfield-api/ (README.md, docs/, .env.example at the repository root):
without the repository around it (the Docker test image) there is nothing to check.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.routing import Match

from src.app_factory import create_app
from src.core.config import Settings
from tests.support.processes import SERVICE_DIR

REPO_DIR = SERVICE_DIR.parent
README = REPO_DIR / "README.md"
DOCS = REPO_DIR / "docs"

pytestmark = pytest.mark.skipif(
    not README.exists(), reason="README.md is absent: higgsfield-api/ runs without the repository around it"
)

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))] if README.exists() else []


def prose(path: Path) -> str:
    """The file without its fenced code blocks (a `# comment` in a shell block is no heading)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(path)):
        slug = anchor(heading)
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def test_the_anchor_rule_matches_githubs() -> None:
    assert anchor("Higgsfield's two API generations") == "higgsfields-two-api-generations"
    assert anchor("The sandbox: the one fake of Higgsfield") == "the-sandbox-the-one-fake-of-higgsfield"
    assert anchor("`Idempotency-Key`") == "idempotency-key"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: str(path.relative_to(REPO_DIR)))
def test_every_relative_link_leads_to_a_file_and_a_heading(path: Path) -> None:
    broken = []
    for target in LINK.findall(prose(path)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.name}")
    assert not broken, f"{path.name}: " + "; ".join(broken)


def walk_through() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A walk-through with curl") :]
    return FENCE.search(section).group(0)  # type: ignore[union-attr]


def answers(app: object, method: str, path: str) -> bool:
    """Whether one of the app's routes takes `method` on `path` (Starlette's own matching)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)  # type: ignore[attr-defined]


def test_the_walk_through_calls_routes_the_app_has() -> None:
    app = create_app(Settings(_env_file=None))
    assert not answers(app, "GET", "/no/such/route")
    calls = re.findall(r"curl [^\n]*?(?:-X (\w+) )?\$BASE(/[^\s\"']*)", walk_through())
    assert len(calls) >= 6, calls
    for method, path in calls:
        concrete = path.replace("$TASK", str(uuid.uuid4())).replace("$UUID_TEST_CHECK", "some-uuid")
        assert answers(app, method or "GET", concrete), (
            f"the walk-through calls {method or 'GET'} {path}, which no route answers"
        )


def form_fields(schema: dict, node: dict) -> set[str]:
    """The properties of a form's schema, through its `$ref`s and `allOf` parts."""
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    fields = set(node.get("properties", {}))
    for part in node.get("allOf", []):
        fields |= form_fields(schema, part)
    return fields


def test_the_walk_through_sends_fields_of_the_create_form_and_a_file_that_exists() -> None:
    schema = create_app(Settings(_env_file=None)).openapi()
    body = schema["paths"]["/api/higgsfield/i2v/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    fields = form_fields(schema, body["schema"])
    sent = re.findall(r"-F (\w+)=(@?)([^\s']+|'[^']*')", walk_through())
    assert sent, "the walk-through creates a task"
    for name, is_file, value in sent:
        assert name in fields, f"the walk-through sends -F {name}, which the create form does not take"
        if is_file:
            assert (REPO_DIR / value).is_file(), f"the walk-through uploads {value}, which is not there"


def test_the_walk_through_reads_settings_that_make_run_writes() -> None:
    example = (REPO_DIR / ".env.example").read_text(encoding="utf-8")
    for name in re.findall(r"grep '\^(\w+)=' \.env", walk_through()):
        assert re.search(rf"^{name}=", example, re.MULTILINE), f".env.example has no {name}"


def test_the_configuration_doc_names_every_setting() -> None:
    doc = (DOCS / "configuration.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", doc))
    settings = {name.upper() for name in Settings.model_fields}
    example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (REPO_DIR / ".env.example").read_text(), re.MULTILINE))
    assert not settings - named, f"docs/configuration.md does not name {sorted(settings - named)}"
    assert not example - named, f"docs/configuration.md does not name {sorted(example - named)}"
