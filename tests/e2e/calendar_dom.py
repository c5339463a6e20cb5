"""The calendar page as a person's browser reads it, with the standard library's HTML parser:
elements with their attributes (unescaped, as the browser sees them) and text. Also the
hostile campaigns the calendar tests add to a repository."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

VOID = {"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "embed", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    contents: list[Node | str] = field(default_factory=list)  # elements and text, in order

    @property
    def children(self) -> list[Node]:
        return [c for c in self.contents if isinstance(c, Node)]

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with this tag and these attribute values (`class_`: one of the classes)."""
        out = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_has(node, key, value) for key, value in attrs.items()):
                out.append(node)
        return out

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.contents)

    def get(self, key: str) -> str | None:
        return self.attrs.get(key)


def _has(node: Node, key: str, value: str) -> bool:
    if key == "class_":
        return value in (node.attrs.get("class") or "").split()
    return node.attrs.get(key.replace("_", "-")) == value


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.contents.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.contents.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.contents.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


HOSTILE_NAME = '<script>document.title="pwned-name"</script> & "quotes" <b>bold</b>'
HOSTILE_BODY = '<script>parent.document.title="pwned-body"</script><p>Hello &amp; welcome</p>'
HOSTILE_HTML = "<img src=x onerror=\"parent.document.title='pwned-html'\"><b>Custom</b>"
# what the preview keeps of them (views/previews.py: an allow-list, nh3)
SANITIZED_BODY = "<p>Hello &amp; welcome</p>"
SANITIZED_HTML = "<img><b>Custom</b>"
LONG_SMS = "Flash sale! " + "x" * 149  # 161 GSM-7 characters: two segments


def add_hostile_campaigns(repo: Path) -> dict[str, str]:
    """Campaigns whose text tries to run in the page; returns id -> what it is."""
    folder = repo / "campaigns" / "hostile"
    folder.mkdir(parents=True, exist_ok=True)
    name = HOSTILE_NAME.replace("'", "''")
    body = HOSTILE_BODY.replace("'", "''")
    (folder / "hostile-email.yaml").write_text(
        f"name: '{name}'\n"
        "channel: email\n"
        "labels: [Promotions]\n"
        "what:\n"
        "  content:\n"
        f"    subject: '<i>Subject</i> {name}'\n"
        f"    body: '{body}'\n"
        "    sender_name: '<Sender>'\n"
        "    preheader: 'Pre <header>'\n"
        "when:\n"
        "  delivery: on_date_time\n"
        "  start: '2026-12-10T09:00:00Z'\n"
    )
    html = HOSTILE_HTML.replace("'", "''")
    (folder / "hostile-in-app.yaml").write_text(
        "name: Custom HTML in-app\n"
        "channel: in_app\n"
        "what:\n"
        "  content:\n"
        "    template: custom_html\n"
        f"    html: '{html}'\n"
        "when:\n"
        "  delivery: action\n"
        "  trigger: {event: App Launched}\n"
    )
    (folder / "long-sms.yaml").write_text(
        "name: Long SMS\n"
        "channel: sms\n"
        "state: draft\n"
        "what:\n"
        f"  content: {{body: '{LONG_SMS}'}}\n"
        "when:\n"
        "  delivery: recurring\n"
        "  start: '2026-12-01T18:00:00+01:00'\n"
        "  recurring: {every: 1, unit: week, 'on': [fri], at: '18:00'}\n"
    )
    return {
        "hostile-email": "email",
        "hostile-in-app": "in_app",
        "long-sms": "sms",
    }
