from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from closedloop.core import selectors
from closedloop.core.actions import user_change_password
from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import require


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True
    http_method_names = ["get", "post", "head", "options"]


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    http_method_names = ["get", "post", "head", "options"]

    def form_valid(self, form):
        user_change_password(user=self.request.user, new_password=form.cleaned_data["new_password1"], actor=self.request.user)
        update_session_auth_hash(self.request, self.request.user)
        messages.success(self.request, _("Your password has been changed."))
        return redirect("home")


@require_GET
@login_required
def home(request):
    from closedloop.quarantine.choices import Category

    summary = selectors.home_summary(request.user)
    episodes = summary.get("episodes", {})
    categories = [(value, label, episodes.get(value, 0)) for value, label in Category.choices]
    return render(request, "core/home.html", {
        "summary": summary,
        "categories": categories,
        "open_total": sum(episodes.values()),
    })


@require_GET
@login_required
def audit_log(request):
    require(request.user, Cap.VIEW_AUDIT)
    rows, filters = selectors.audit_events(request.user, request.GET)
    page = paginate(request, rows)
    return render(request, "core/audit_log.html", {
        "page": page, "filters": filters, **selectors.audit_vocabulary(),
    })


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
