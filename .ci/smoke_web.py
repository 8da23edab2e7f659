"""The smoke's browser: a requests session behind a stand-in TLS proxy, and HTML forms read with the stdlib.

The portal runs as in production (DEBUG off: SSL redirect, Secure cookies, HSTS), so it must be reached
over https. Here a transport adapter plays the TLS-terminating proxy for the portal's https address:
it sends the request over plain http to gunicorn with `X-Forwarded-Proto: https` (which the portal's
SECURE_PROXY_SSL_HEADER trusts), while the session sees https URLs throughout, so Secure cookies,
redirects and the OAuth redirect URI behave exactly as behind a real proxy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from smoke_report import SmokeError

TIMEOUT = 30


class TlsProxy(HTTPAdapter):
    """https://host:port -> http://host:port with X-Forwarded-Proto: https; the caller still sees https."""

    def send(self, request, **kwargs):
        inner = request.copy()
        inner.url = "http://" + request.url.removeprefix("https://")
        inner.headers["X-Forwarded-Proto"] = "https"
        response = super().send(inner, **kwargs)
        response.url = request.url
        response.request = request
        return response


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)
    # name -> all values a checkbox/radio/select of that name offers (to check an option by value)
    options: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)
    text: str = ""

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.fields if n == name]

    def value(self, name: str) -> str:
        found = self.values(name)
        return found[0] if found else ""

    def set(self, name: str, *values: str) -> Form:
        """Replace every value of `name` (a text field, a select, or the checked boxes of a group)."""
        offered = self.options.get(name)
        for v in values:
            if offered is not None and v not in offered:
                raise SmokeError(f"form field {name!r} offers {offered[:20]}, not {v!r}")
        rest = [(n, v) for n, v in self.fields if n != name]
        self.fields = rest + [(name, v) for v in values]
        return self

    def has(self, name: str) -> bool:
        return name in self.options or any(n == name for n, _ in self.fields)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[tuple[str, str]] = []
        self._form: Form | None = None
        self._select: tuple[str, bool] | None = None
        self._select_values: list[str] = []
        self._select_chosen: list[str] = []
        self._option: dict[str, str] | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""
        self._link: str | None = None
        self._link_text = ""
        self._button: dict[str, str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attr_list}
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower(), attrs)
            self.forms.append(self._form)
        elif tag == "a" and "href" in attrs:
            self._link, self._link_text = attrs["href"], ""
        form = self._form
        if form is None:
            return
        name = attrs.get("name", "")
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if kind in ("submit", "image"):
                    form.buttons.append(
                        {"name": name, "value": attrs.get("value", ""), "label": attrs.get("value", "")}
                    )
                return
            if not name or "disabled" in attrs or kind == "file":
                return
            if kind in ("checkbox", "radio"):
                value = attrs.get("value", "on")
                form.options.setdefault(name, []).append(value)
                if "checked" in attrs:
                    form.fields.append((name, value))
            else:
                form.fields.append((name, attrs.get("value", "")))
        elif tag == "button":
            if attrs.get("type", "submit").lower() == "submit" and "disabled" not in attrs:
                self._button = {"name": name, "value": attrs.get("value", ""), "label": ""}
                form.buttons.append(self._button)
        elif tag == "select" and name and "disabled" not in attrs:
            self._select = (name, "multiple" in attrs)
            self._select_values, self._select_chosen = [], []
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = attrs, ""
        elif tag == "textarea" and name and "disabled" not in attrs:
            self._textarea, self._textarea_text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" or (tag == "select" and self._option is not None):
            self._end_option()
        if tag == "select" and self._select is not None and self._form is not None:
            name, multiple = self._select
            self._form.options[name] = self._select_values
            chosen = self._select_chosen or ([] if multiple or not self._select_values else self._select_values[:1])
            self._form.fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, self._textarea_text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None
        elif tag == "a" and self._link is not None:
            self.links.append((" ".join(self._link_text.split()), self._link))
            self._link = None
        elif tag == "button" and self._button is not None:
            self._button["label"] = " ".join(self._button["label"].split())
            self._button = None

    def _end_option(self) -> None:
        if self._option is None:
            return
        value = self._option.get("value", self._option_text.strip())
        self._select_values.append(value)
        if "selected" in self._option:
            self._select_chosen.append(value)
        self._option = None

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea_text += data
        if self._link is not None:
            self._link_text += data
        if self._button is not None:
            self._button["label"] += data
        if data.strip():
            self.text.append(data.strip())
            if self._form is not None:
                self._form.text += " " + data.strip()


class Page:
    """One HTML answer: its text, forms and links."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.url = response.url
        self.status = response.status_code
        self.html = response.text
        parser = _Parser()
        parser.feed(self.html)
        self.forms = parser.forms
        self.links = parser.links
        self.text = " ".join(parser.text)

    def form(self, *, action: str | None = None, id: str | None = None, has: str | None = None) -> Form:
        """The first form whose action ends with `action`, or whose id is `id`, or that has field `has`."""
        for f in self.forms:
            if action is not None and not urlsplit(urljoin(self.url, f.action)).path.endswith(action):
                continue
            if id is not None and f.attrs.get("id") != id:
                continue
            if has is not None and not f.has(has):
                continue
            return f
        raise SmokeError(f"{self.url}: no form with action={action!r} id={id!r} field={has!r}")

    def link(self, text: str) -> str:
        for label, href in self.links:
            if label == text:
                return urljoin(self.url, href)
        raise SmokeError(f"{self.url}: no link {text!r} (links: {[label for label, _ in self.links][:40]})")

    def between(self, pattern: str) -> str:
        """The first group of a regular expression over the raw HTML (for data-testid values and the like)."""
        found = re.search(pattern, self.html, re.S)
        if not found:
            raise SmokeError(f"{self.url}: nothing matches {pattern!r}")
        return unescape(found.group(1)).strip()

    def expect(self, *texts: str) -> Page:
        for text in texts:
            if text not in self.text:
                raise SmokeError(f"{self.url} (HTTP {self.status}) does not say {text!r}; it says: {self.text[:1500]}")
        return self


class Browser:
    """A user's browser: cookies, redirects, CSRF tokens from the forms, Origin on every POST."""

    def __init__(self, name: str, portal_url: str) -> None:
        self.name = name
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"portal-smoke ({name})"
        self.session.mount(portal_url, TlsProxy())

    def get(self, url: str, **kwargs) -> Page:
        return self._page(self.session.get(url, timeout=TIMEOUT, **kwargs))

    def submit(self, page: Page, form: Form, button: str | None = None, **kwargs) -> Page:
        """Submit as a click on the button whose label (or value) is `button`, or on the first one."""
        url = urljoin(page.url, form.action) if form.action else page.url
        data = list(form.fields)
        if form.buttons:
            chosen = form.buttons[0]
            if button is not None:
                matches = [b for b in form.buttons if button in (b["label"], b["value"])]
                if not matches:
                    raise SmokeError(f"{page.url}: form {form.action!r} has no button {button!r}: {form.buttons}")
                chosen = matches[0]
            if chosen["name"]:
                data.append((chosen["name"], chosen["value"]))
        if form.method == "get":
            return self.get(url, params=data, **kwargs)
        return self.post(url, data, referer=page.url, **kwargs)

    def post(self, url: str, data, *, referer: str | None = None, **kwargs) -> Page:
        parts = urlsplit(url)
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}", "Referer": referer or url, **kwargs.pop("headers", {})}
        return self._page(self.session.post(url, data=data, headers=headers, timeout=TIMEOUT, **kwargs))

    def _page(self, response: requests.Response) -> Page:
        page = Page(response)
        if response.status_code >= 400:
            raise SmokeError(
                f"{self.name}: {response.request.method} {response.url} answered {response.status_code}: {page.text[:1500]}"
            )
        return page
