"""The web layer: one package per business area (views.py, forms.py, urls.py, more modules for an area with
several pages), its templates under templates/web/<area>/; the shared pieces (root URLs, base template,
context processors, middleware, shared form pieces, store picking, the job-progress and bad-rows partials)
and the login and lockout pages stay at this root."""
