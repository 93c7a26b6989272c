"""Response headers for `/manuals/...` (untrusted content on the desk's origin) and the desk page.

A manual page is whatever HTML was dropped into the manuals folder; the server shows it on
the same origin as the desk, so without a policy a `<script>` in a manual runs as the desk
(it read the API key the page kept in localStorage and could call `/api/*` as the agent).

- HTML, SVG, XML and every other file: `Content-Security-Policy: sandbox ...`. The sandbox
  directive gives the document an opaque origin (no access to the desk's storage, cookies
  or same-origin fetches) and runs no script at all; `default-src 'none'` then allows
  only what a manual needs to look right: its own stylesheets, images and fonts.
  Links keep working; links that open a new tab (`allow-popups`) and downloads of
  attachments (`allow-downloads`) are allowed, since neither hands the manual the desk.
- PDF: the same policy without `sandbox`. Chromium 156 displays a PDF under either
  (checked with Debian's chromium), but a sandboxed PDF has broken other browsers'
  built-in viewers, and sandboxing buys nothing there: a PDF viewer's JavaScript never
  runs with the page origin's access (PDFium's and pdf.js's scripting are sandboxes of
  their own). `nosniff` keeps a `.pdf` that holds HTML from being rendered as HTML.
- `X-Content-Type-Options: nosniff` everywhere, so the browser never guesses HTML from
  a file served as something else; `frame-ancestors 'self'` lets only the desk frame it.
"""

from __future__ import annotations

_ALLOW = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; media-src 'self'"
SANDBOXED = f"sandbox allow-popups allow-popups-to-escape-sandbox allow-downloads; {_ALLOW}; frame-ancestors 'self'"
PDF = "default-src 'none'; frame-ancestors 'self'"


def manual_headers(media_type: str) -> dict[str, str]:
    """The security headers for one file served from the manuals root."""
    policy = PDF if media_type.split(";")[0].strip().lower() == "application/pdf" else SANDBOXED
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


def desk_headers(page: str) -> dict[str, str]:
    """The desk page's policy: only its own inline script runs (named by its sha256), it
    talks only to its own server, and no other site may frame it (clickjacking).

    A second wall behind the page's habit of writing text with textContent: should a
    manual's title or snippet ever reach the page as markup, no script in it would run."""
    import base64
    import hashlib
    import re

    quoted_none = "'none'"
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    policy = (f"default-src 'self'; script-src {hashes or quoted_none}; "
              "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
