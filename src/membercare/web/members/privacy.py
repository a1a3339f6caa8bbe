"""A member's data on request (PIPL), HQ only: the whole record as a file, and erasure after a confirmation.
Thin: membercare.privacy does the work and the logging."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.permissions import can_erase_members, require
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from membercare.members.models import Member
from membercare.privacy.exports import member_data_export
from membercare.privacy.models import DataRequest
from membercare.privacy.requests import data_request_close, data_requests_pending
from membercare.privacy.services import PERSONAL_DATA, REASON_MAX, member_erase


class EraseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX,
                             help_text=gettext_lazy("E.g. the member's request and its date; no personal data."))
    confirm_member_no = forms.CharField(label=gettext_lazy("Member number, to confirm"), max_length=20)


def member_data_download(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_erase_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    out = member_data_export(member=member, by=request.user)
    filename = f"member-{member.member_no}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def member_erase_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_erase_members(request.user))
    member = get_object_or_404(Member.objects.select_related("home_store"), pk=pk)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member_erase(member=member, by=request.user, reason=form.cleaned_data["reason"],
                         confirm_member_no=form.cleaned_data["confirm_member_no"])
        except ValidationError as refused:
            for field, errors in refused.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The personal data of member %(no)s was erased.") % {
                "no": member.member_no})
            return redirect("member_list")
    return render(request, "web/members/erase.html", {"member": member, "form": form,
                                                       "kept_rows": len(PERSONAL_DATA)})


def privacy_requests(request: HttpRequest) -> HttpResponse:
    """/privacy/requests/: members' own requests for a copy of their data or for erasure (PIPL), from the member
    centre; the administrator acts on the member's page, then closes the request here (done, or refused with a
    reason)."""
    require(can_erase_members(request.user))
    if request.method == "POST":
        found = get_object_or_404(DataRequest, pk=request.POST.get("request") or 0)
        try:
            data_request_close(request=found, by=request.user, status=request.POST.get("status", ""),
                               note=request.POST.get("note", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Request closed."))
        return redirect("privacy_requests")
    handled = DataRequest.objects.exclude(status=DataRequest.Status.PENDING).select_related(
        "member", "handled_by").order_by("-handled_at", "-pk")[:50]
    return render(request, "web/members/privacy_requests.html", {
        "pending": list(data_requests_pending()[:200]), "handled": list(handled)})
