"""Error pages Django would answer in English or bare (issue 13): a form too large to read at all."""

from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.views import defaults

from evaluations import text


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


def bad_request(request, exception):
    """handler400 (config/urls.py). A form too large is refused in Chinese, saying what is too long; for the edit
    page's saves made with JavaScript, the message goes where the page shows the outcome of a save."""
    message = too_large_message(exception)
    if message is None:
        return defaults.bad_request(request, exception)
    if not hasattr(request, "user"):  # refused in a middleware before AuthenticationMiddleware: the page's menu
        request.user = SimpleLazyObject(lambda: get_user(request))
    if request.headers.get("HX-Request"):
        return render(request, "_too_large.html", {"message": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)
