"""Error pages Django would answer in English or bare: 400 (a form too large to read at all: issue 13), 403, 404,
500 and a refused CSRF check (issue 14). Each says in Chinese what happened and what to do, in the site's layout
(the public pages' own on /public/), with a way back; a save the edit page makes with JavaScript gets the message
where the page reports its saves. config/urls.py names the handlers, CSRF_FAILURE_VIEW the last."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme

from evaluations import text

logger = logging.getLogger(__name__)


def _megabytes(size):
    return f"{size / 1024 / 1024:g} MB"


def too_large_message(exception):
    if isinstance(exception, RequestDataTooBig):
        return (
            f"提交的内容超过 {_megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}，未能读取，也未保存。通常是某个文字框"
            f"粘贴了过长的内容：说明每个章节的正文与分条要点合计不超过 {text.SECTION_LIMIT} 字，偏差原因不超过 "
            f"{text.DEVIATION_REASON_LIMIT} 字，预算执行情况说明不超过 {text.BUDGET_NOTE_LIMIT} 字，审核意见和答复不超过 "
            f"{text.COMMENT_LIMIT} 字。请返回上一页，精简过长的内容后再提交。"
        )
    if isinstance(exception, TooManyFieldsSent):
        return (
            f"提交的表单超过 {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} 个字段（指标行或分条要点过多），未能读取，也未保存。"
            "请返回上一页，删去多余的行或要点后再提交。"
        )
    if isinstance(exception, TooManyFilesSent):
        return f"一次上传的文件超过 {settings.DATA_UPLOAD_MAX_NUMBER_FILES} 个，未能读取。请分几次上传。"
    return None


def _public(request):
    return request.path.startswith("/public/")


def _ways_back(request, evaluation_page=False):
    """Links out of an error page: the evaluation the address names (a 403 there: it may be seen, not done), the
    page the user came from on this site, and the start page (the public list on the public pages)."""
    ways = []
    match = getattr(request, "resolver_match", None)
    if evaluation_page and match and match.namespace == "evaluations" and "pk" in match.kwargs:
        try:
            detail = reverse("evaluations:detail", args=[match.kwargs["pk"]])
        except NoReverseMatch:
            detail = None
        if detail and detail != request.path:
            ways.append(("查看这份自评表", detail))
    referer = request.headers.get("Referer", "")
    try:
        host = request.get_host()
    except DisallowedHost:  # the very reason for this 400
        host = None
    if referer and host and url_has_allowed_host_and_scheme(referer, allowed_hosts={host}):
        parts = urlsplit(referer)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path and path != request.get_full_path():
            ways.append(("返回上一页", path))
    if _public(request):
        ways.append(("回到信息公开列表", reverse("public:list")))
    else:
        ways.append(("回到自评列表", reverse("evaluations:list")))
    return ways


def _with_user(request):
    if not hasattr(request, "user"):  # refused in a middleware before AuthenticationMiddleware: the page's menu
        request.user = SimpleLazyObject(lambda: get_user(request))


def error_page(request, status, title, message, hint="", evaluation_page=False, tone="warning"):
    _with_user(request)
    if request.headers.get("HX-Request"):
        return render(request, "_save_refused.html", {"message": message}, status=status)
    return render(request, "error.html", {
        "layout": "public/base.html" if _public(request) else "base.html", "status": status, "title": title,
        "message": message, "hint": hint, "tone": tone, "ways_back": _ways_back(request, evaluation_page),
    }, status=status)


def bad_request(request, exception):
    """handler400. A form too large is refused saying what is too long; any other bad request plainly."""
    message = too_large_message(exception)
    if message is not None:
        return error_page(request, 400, "提交的内容过大", message, tone="danger",
                          hint="用浏览器的“后退”回到上一页，已填写的内容通常仍在页面上。")
    return error_page(request, 400, "无法处理这个请求", "地址或提交的内容不完整、格式有误，未作任何修改。",
                      hint="请返回上一页，刷新后重试。")


def permission_denied(request, exception):
    """handler403. The views' refusals already say why in Chinese (PermissionDenied("…不能修改。")); shown as is."""
    message = str(exception) if exception and str(exception) else "您没有权限进行这项操作。"
    return error_page(request, 403, "不能进行这项操作", message, evaluation_page=True,
                      hint="如需修改已提交的自评，请联系审核人退回；如认为应当有此权限，请联系系统管理员。")


def page_not_found(request, exception):
    """handler404: a wrong address, or something this user may not see (which is deliberately not told apart)."""
    return error_page(request, 404, "找不到这个页面",
                      "地址可能有误，或者要找的自评、文件已不存在，或者您没有查看它的权限。",
                      hint="请从列表重新进入；链接来自通知邮件的，请确认已用收件人的账号登录。")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form posted from a page that has expired (opened before a login, a restart, long ago)
    or not from this site. Nothing was saved."""
    if reason == REASON_NO_CSRF_COOKIE:
        message = "浏览器没有保存本站的 Cookie（可能已被清除或禁用），无法确认这次提交来自本系统的页面，未保存。"
    else:
        message = "页面已过期（例如在重新登录之前打开），或提交不是来自本系统的页面，未保存。"
    return error_page(request, 403, "页面已过期，未保存", message, tone="danger",
                      hint="请先复制还要保留的文字，然后返回上一页，刷新页面后重新填写提交。")


def server_error(request):
    """handler500. Rendered without the request's context: what failed may be the database the menu reads."""
    try:
        page = loader.get_template("error.html").render({
            "layout": "public/base.html" if _public(request) else "base.html", "status": 500, "tone": "danger",
            "title": "系统出错了", "message": "系统处理这个请求时出错，没有完成。错误已记录，管理员会处理。",
            "hint": "刚才提交的内容可能没有保存：请稍后返回上一页查看，必要时重新提交。",
            "ways_back": [("回到信息公开列表", reverse("public:list")) if _public(request)
                          else ("回到自评列表", reverse("evaluations:list"))],
        })
    except Exception:  # the page itself failed: still a Chinese answer, never Django's English one
        logger.exception("错误页面无法显示")
        page = "<!doctype html><meta charset=utf-8><title>系统出错了</title><h1>系统出错了</h1><p>请稍后再试。</p>"
    return HttpResponse(page, status=500)
