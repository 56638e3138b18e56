"""The edit form read back from a page as a browser would post it unchanged, for the load test and page_costs.

tests/forms.py does the same with html.parser; regular expressions keep Locust's own CPU, on the same two cores as
the server, small (4 ms a page instead of 28 ms).
"""

import html
import re

FIELD = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.S)
ATTR = re.compile(r'([\w-]+)(?:="([^"]*)")?')
OPTION = re.compile(r"<option\b([^>]*)>", re.S)
TEMPLATE = re.compile(r"<template\b.*?</template>", re.S)


def edit_form(page):
    """(name, value) pairs of the edit form: no disabled fields, nothing from the <template>, the selected option."""
    start = page.find('id="edit-form"')
    if start < 0:
        return []
    form = TEMPLATE.sub("", page[start:page.find("</form>", start)])
    pairs = []
    for match in FIELD.finditer(form):
        tag, attrs = match.group(1), {k: html.unescape(v or "") for k, v in ATTR.findall(match.group(2))}
        name = attrs.get("name")
        if not name or "disabled" in attrs:
            continue
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    pairs.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                pairs.append((name, attrs.get("value", "")))
        elif tag == "textarea":
            text = form[match.end():form.find("</textarea>", match.end())]
            pairs.append((name, html.unescape(text.removeprefix("\n"))))
        else:
            options = form[match.end():form.find("</select>", match.end())]
            chosen = [dict(ATTR.findall(o)) for o in OPTION.findall(options)]
            selected = [o for o in chosen if "selected" in o] or chosen[:1]
            pairs.append((name, html.unescape(selected[0].get("value", "")) if selected else ""))
    return pairs


def csrf(page):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return match.group(1) if match else ""


FORM = "application/x-www-form-urlencoded"


def in_page_save(client, edit_url):
    """(save, data) for a Django test client on an edit page: `save()` changes three 实际完成值 and posts the form as
    the page's JavaScript does (urlencoded, with HX-Request), then takes the answer's new version and token, as
    the page does (a save sent again with the old token would be a conflict with its own earlier save); `data` is
    the form as posted, for the live preview. page_costs.py and page_instructions.py measure it."""
    from urllib.parse import urlencode

    data = [list(pair) for pair in edit_form(client.get(edit_url).content.decode())]
    actual = [pair for pair in data if pair[0].endswith("-actual_value") and pair[1]][:3]

    def save():
        for pair in actual:
            pair[1] = str(100 + (int(pair[1].split(".")[0]) + 1) % 500)
        response = client.post(edit_url, urlencode([tuple(pair) for pair in data]), content_type=FORM,
                               HTTP_HX_REQUEST="true")
        page = response.content.decode()
        for name in ("version", "base"):
            found = re.search(rf'name="{name}" value="([^"]*)"', page)
            for pair in data:
                if pair[0] == name and found:
                    pair[1] = html.unescape(found.group(1))
        if response.status_code != 200:
            raise SystemExit(f"保存未成功（{response.status_code}）：{page[:300]}")
        return response

    return save, data
