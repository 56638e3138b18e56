"""Read a rendered HTML form back into POST data, as a browser would submit it unchanged."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id=None):
        super().__init__()
        self.data, self._in_form, self._form_id = {}, form_id is None, form_id
        self._textarea, self._select, self._select_value = None, None, None

    _in_template = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":  # browsers do not submit a <template>'s inputs
            self._in_template += 1
        if self._in_template:
            return
        if tag == "form" and self._form_id is not None:
            self._in_form = attrs.get("id") == self._form_id
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.data[name] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            if name in self.data:  # repeated names (the numbered points) post as a list
                previous = self.data[name]
                self.data[name] = [*(previous if isinstance(previous, list) else [previous]), ""]
            else:
                self.data[name] = ""
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select and ("selected" in attrs or self._select_value is None):
            self._select_value = attrs.get("value", "")
            if "selected" in attrs:
                self.data[self._select] = self._select_value
            else:
                self.data.setdefault(self._select, "")

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template -= 1
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and not self._in_template:
            value = self.data[self._textarea]
            if isinstance(value, list):
                value[-1] += data
            else:
                self.data[self._textarea] = value + data


def form_data(html, form_id=None):
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.data
