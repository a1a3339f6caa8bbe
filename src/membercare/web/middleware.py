from django.contrib.auth.views import redirect_to_login

PUBLIC_PREFIXES = ("/login/", "/static/", "/i18n/", "/api/", "/healthz", "/admin/", "/rsvp/", "/s/")  # /s/: surveys


class LoginRequiredMiddleware:
    """Every page needs a login (the API and Django admin authenticate on their own). Permission
    checks per role and store happen in the views and services; this only keeps anonymous visitors out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PUBLIC_PREFIXES) and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)
