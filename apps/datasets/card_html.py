"""A release's data card (Markdown, with a YAML header) as safe HTML for the release page."""

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "pre",
    "em",
    "strong",
    "a",
    "blockquote",
    "hr",
    "br",
}


def card_split(text: str) -> tuple[str, str]:
    """(YAML header without its --- lines, Markdown body); the header is empty when there is none."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[4:end], text[end + 5 :]
    return "", text


def card_html(text: str) -> SafeString:
    """Render the card's Markdown (raw HTML in it is not passed through) and sanitise the result with nh3."""
    _, body = card_split(text or "")
    # No style attributes (markdown-it aligns table cells with them): the site's CSP allows no inline styles.
    html = nh3.clean(
        _MD.render(body),
        tags=TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(html)  # noqa: S308 - sanitised by nh3 just above
