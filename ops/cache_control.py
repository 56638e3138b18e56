"""What one user sees is not kept by a browser's or a proxy's cache (issue 13): every response to a logged-in user
(the pages, the 说明 PDF and Word files, evidence, exports) says `Cache-Control: private, no-store`, so a shared
computer's cache or an intranet proxy does not keep another unit's figures. Responses that set their own
Cache-Control (static files, which whitenoise serves before this) keep it."""

from django.utils.cache import patch_cache_control


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
