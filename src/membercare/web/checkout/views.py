"""The counter checkout for stores without a POS integration, the receipt, and returns.

Every role may use it at their own store(s) (HQ staff without a store: any store). Thin: identification,
prices, the birthday privilege, points and tiers are checkout.pipeline's. A refusal is shown next to the
field it concerns and everything typed stays in the form. One form posts at most one receipt (a double
tap on "Post" replays the first result).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.campaigns.selectors import usable_coupons
from membercare.checkout.pipeline import (
    CheckoutError,
    Identified,
    PaymentIn,
    Quote,
    basket_quote,
    checkout_post,
    identify,
    return_post,
)
from membercare.checkout.receipts import receipt_search
from membercare.core.permissions import require, visible_stores
from membercare.loyalty.birthday import birthday_period
from membercare.loyalty.birthday_exceptions import approved_exception_on
from membercare.loyalty.models import Card, CardApplication, CardStatus, LoyaltyAccount, PointsEntry
from membercare.loyalty.perks import perks_left, receipt_perks
from membercare.loyalty.points import balance_after_receipt, receipt_points_note
from membercare.loyalty.programme import programme_at
from membercare.loyalty.programme_selectors import birthday_id_number_asked
from membercare.loyalty.progress import level_progress
from membercare.loyalty.sale import most_points_redeemable
from membercare.org.models import Store
from membercare.sales.models import Receipt, ReceiptLine
from membercare.sales.pipeline import after_rollback, provider_label
from membercare.sales.selectors import product_by_code, product_search
from membercare.storedvalue.giftcard_selectors import receipt_gift_cards
from membercare.storedvalue.giftcards import GIFT_METHOD_CODE as GIFT_CARD
from membercare.storedvalue.member_code import member_code_send
from membercare.storedvalue.rules import METHOD_CODE as STORED_VALUE
from membercare.storedvalue.rules import current_rules
from membercare.storedvalue.writes import live_card, scope_of

from ..once import once
from .forms import (
    FIELDS,
    CheckoutForm,
    LineFormSet,
    ReturnForm,
    basket_lines,
    formset_with_one_more_row,
    formset_with_product,
)


def checkout_stores(user) -> QuerySet[Store]:
    """The stores the user sells at: their own; HQ staff without a store may pick any visible store."""
    own = user.stores.filter(is_active=True)
    if own.exists():
        return own.select_related("brand").order_by("code")
    return visible_stores(user).filter(is_active=True).select_related("brand").order_by("code")


def _receipt_for(request: HttpRequest, pk: int) -> Receipt:
    stores = checkout_stores(request.user)
    return get_object_or_404(Receipt.objects.select_related("store", "member", "clerk", "original"),
                             pk=pk, store__in=stores)


# ----------------------------------------------------------------------------------------------- checkout


def _add(errors: dict[str, list[str]], field: str | None, text: str) -> None:
    field = field if field in FIELDS else "__all__"
    if text not in errors[field]:
        errors[field].append(text)


def _form_errors(form: CheckoutForm, formset) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = defaultdict(list)
    form_ok, lines_ok = form.is_valid(), formset.is_valid()
    if not form_ok:
        for name, errs in form.errors.items():
            for e in errs:
                _add(errors, name, e)
    if not lines_ok:
        for i, row in enumerate(formset.errors, start=1):
            for name, errs in row.items():
                for e in errs:
                    _add(errors, "lines", _("Line %(n)d, %(field)s: %(error)s") % {
                        "n": i, "field": formset.forms[i - 1].fields[name].label, "error": e})
        for e in formset.non_form_errors():
            _add(errors, "lines", e)
    if form_ok and not form.is_walk_in and not form.cleaned_data.get("card"):
        d = form.cleaned_data
        if (d.get("name") or d.get("birthday_date")) and not (d.get("name") and d.get("birthday_date")):
            missing = "birthday_date" if d.get("name") else "name"
            _add(errors, missing, _("Without the card, give name, phone and birthday together."))
    return errors


def _blank_state() -> dict:
    return {"ident": None, "quote": None, "balance": 0, "birthday_month": False, "tier": "", "walk_in": False,
            "coupons": [], "most_points": 0, "stored_value": None, "progress": [], "perks": [], "perks_ticked": []}


def _request_options(form: CheckoutForm) -> dict:
    return {"birthday": form.cleaned_data["birthday"], "redeem_points": form.cleaned_data["redeem_points"] or 0,
            "coupon_code": (form.cleaned_data.get("coupon_code") or "").strip(),
            "id_number": (form.cleaned_data.get("id_number") or "").strip(),
            "perks": form.cleaned_data.get("perks") or []}


def _evaluate(form: CheckoutForm, formset, errors: dict[str, list[str]]) -> dict:
    """Identify the member and price the basket (no writes); refusals go into `errors`. With the member
    known, what the clerk may offer: the coupons usable at this store and the most points the basket takes."""
    state = _blank_state()
    if errors or not (form.has_identity or form.is_walk_in):
        return state
    store = form.cleaned_data["store"]
    if form.is_walk_in:
        state["walk_in"] = True
        lines = basket_lines(formset)
        if lines:
            try:
                state["quote"] = basket_quote(store=store, ident=None, lines=lines, **_request_options(form))
            except CheckoutError as exc:
                _add(errors, exc.field, exc.text)
        return state
    try:
        ident: Identified = identify(store=store, **form.identify_kwargs())
    except CheckoutError as exc:
        _add(errors, exc.field, exc.text)
        return state
    except ValidationError as exc:
        _add(errors, "__all__", exc.messages[0])
        return state
    balance = LoyaltyAccount.objects.filter(member=ident.member).values_list("points", flat=True).first() or 0
    stored_value = live_card(ident.member.pk, scope_of(store, current_rules()))
    programme = programme_at()  # the progress reads it anyway: one statement for both
    state.update(ident=ident, balance=balance, stored_value=stored_value,
                 birthday_month=birthday_period(ident.member, timezone.localdate()) is not None,
                 tier=programme.label(ident.card.kind) if ident.card else "",
                 progress=level_progress(ident.member, cards=[ident.card] if ident.card else [],
                                         programme=programme))
    if not state["birthday_month"]:
        state["birthday_exception"] = approved_exception_on(ident.member, timezone.localdate())
    asked = _request_options(form)
    state["coupons"] = [c for c in usable_coupons(ident.member.pk, store)
                        if c["coupon"].code != "".join(ch for ch in asked["coupon_code"].upper() if ch.isalnum())]
    lines = basket_lines(formset)
    if lines:
        try:
            quote = basket_quote(store=store, ident=ident, lines=lines, balance=balance, **asked)
        except CheckoutError as exc:
            _add(errors, exc.field, exc.text)
            try:  # what the basket would take without the refused option, for the offer below
                quote = basket_quote(store=store, ident=ident, lines=lines, balance=balance)
            except CheckoutError:
                quote = None
        else:
            state["quote"] = quote
        if quote is not None:
            state["most_points"] = most_points_redeemable(quote.programme, quote.total_paid, balance)
    # the card's perks with what is left this period: one query with the basket priced (its programme)
    state["perks"] = perks_left(ident.member, ident.card,
                                programme=state["quote"].programme if state["quote"] else None)
    state["perks_ticked"] = asked["perks"]
    return state


def quote_rows(quote: Quote | None) -> list[dict]:
    """Each line with its unit prices grouped: 2 x ¥600.00 (birthday), 1 x ¥850.00."""
    rows = []
    for ql in quote.lines if quote else []:
        groups: list[list] = []
        for i, price in enumerate(ql.unit_prices):
            bday = i < ql.birthday_items
            if groups and groups[-1][0] == price and groups[-1][2] == bday:
                groups[-1][1] += 1
            else:
                groups.append([price, 1, bday])
        rows.append({"line": ql, "groups": groups})
    return rows


def _post(request: HttpRequest, form: CheckoutForm, formset) -> Receipt:
    """checkout_post, once per form: a second post of the same form returns the first receipt."""
    store = form.cleaned_data["store"]
    token = form.cleaned_data.get("token") or ""
    kwargs = form.identify_kwargs()
    method = form.cleaned_data.get("payment_method")
    call = dict(store=store, clerk=request.user, lines=basket_lines(formset), card_number=kwargs["card_number"],
                phone=kwargs["phone"], name=kwargs["name"], birthday_date=kwargs["birthday"],
                walk_in=form.is_walk_in, payments=[PaymentIn(method.code)] if method else None,
                member_code=(form.cleaned_data.get("member_code") or "").strip(), **_request_options(form))
    on_card = form.cleaned_data.get("stored_value_amount")
    if on_card and method is not None and method.code != STORED_VALUE:  # split: stored value and the method
        ident = None if form.is_walk_in else identify(store=store, **kwargs)
        due = basket_quote(store=store, ident=ident, lines=call["lines"], **_request_options(form)).to_pay
        if on_card > due:
            raise CheckoutError("stored_value_over_due", _("Stored value can pay at most the ¥%(due)s due.") % {
                "due": due}, "stored_value_amount")
        call["payments"] = [PaymentIn(STORED_VALUE, on_card), PaymentIn(method.code, due - on_card)]
    elif on_card and method is not None:  # stored value alone, with the amount typed: that amount, never more
        call["payments"] = [PaymentIn(STORED_VALUE, on_card)]  # not the amount due: refused (payments_mismatch)
    gift_code = (form.cleaned_data.get("gift_card_code") or "").strip()
    if gift_code:  # a gift card pays all (no amount) or part, the rest with the method chosen
        call["payments"] = _gift_card_payments(form, call, method, gift_code, on_card)
    return _once(store, f"web-checkout:{token}", lambda: checkout_post(**call)) if token else checkout_post(**call)


def _gift_card_payments(form: CheckoutForm, call: dict, method, code: str, on_card) -> list[PaymentIn]:
    """The payments of a sale with a gift card: the card's amount (empty: all that is due) and the rest with the
    method chosen (not stored value beside a gift card at the counter)."""
    if on_card:
        raise CheckoutError("gift_card_with_stored_value", _(
            "Pay with the gift card or with stored value: not both on one receipt at the counter."),
            "gift_card_code")
    ident = None if form.is_walk_in else identify(store=call["store"], **form.identify_kwargs())
    due = basket_quote(store=call["store"], ident=ident, lines=call["lines"], **_request_options(form)).to_pay
    on_gift = form.cleaned_data.get("gift_card_amount") or due
    if on_gift > due:
        raise CheckoutError("gift_card_over_due", _("The gift card can pay at most the ¥%(due)s due.") % {
            "due": due}, "gift_card_amount")
    payments = [PaymentIn(GIFT_CARD, on_gift, code)]
    if on_gift < due:
        if method is None or method.code in (GIFT_CARD, STORED_VALUE):
            raise CheckoutError("payment_method_required", _(
                "Choose how the rest of ¥%(n)s is paid.") % {"n": due - on_gift}, "payment_method")
        payments.append(PaymentIn(method.code, due - on_gift))
    return payments


def _once(store: Store, key: str, write) -> Receipt:
    """Run `write` (which returns a receipt) once per key: a repeat returns the first receipt (web.once)."""
    receipt, _replayed = once(store, key, write, save=lambda receipt: {"receipt": receipt.pk},
                              load=lambda response: Receipt.objects.get(pk=response["receipt"]))
    return receipt


def _context(request, form, formset, errors, state, oob=False, **extra) -> dict:
    stores = form.fields["store"].queryset
    return {"form": form, "formset": formset, "errors": errors, "oob": oob, "general_errors": errors["__all__"],
            "error_items": [(name, errors.get(name, [])) for name in FIELDS],
            "quote_rows": quote_rows(state["quote"]), "many_stores": stores.count() > 1,
            "many_methods": len(form.fields["payment_method"].queryset) > 1,
            "birthday_id_asked": bool(errors.get("id_number")) or birthday_id_number_asked(),
            **state, **extra}


def _offer(data, action: str) -> tuple:
    """The clerk took an offer of the quote: a coupon's code or the most points go into their boxes."""
    data = data.copy()
    if action.startswith("coupon:"):
        data["coupon_code"] = action.removeprefix("coupon:")[:30]
    elif action.startswith("points:"):
        data["redeem_points"] = action.removeprefix("points:")[:10]
    return data


def _scanned(data) -> tuple[object, list, str]:
    """A scanned or typed code (the scan box, or a product picked from the search results) as one more unit
    in the basket: (the form's data, the products found when the code names none exactly, a refusal)."""
    code = (data.get("pick") or data.get("scan") or "").strip()
    product = product_by_code(code)
    if product is None:
        found = product_search(code)
        return data, found, "" if found else _("No product has the SKU or barcode “%(code)s”.") % {"code": code[:50]}
    added = formset_with_product(data, product.sku)
    if added is None:
        return data, [], _("At most 50 lines in one basket.")
    return added, [], ""


def checkout_page(request: HttpRequest) -> HttpResponse:
    stores = checkout_stores(request.user)
    require(stores.exists())
    if request.method != "POST":
        initial = {k: request.GET[k][:30] for k in ("phone", "card") if request.GET.get(k)}  # a profile, exchange
        initial["walk_in"] = request.GET.get("walk_in") == "1"
        form, formset = CheckoutForm(stores=stores, initial=initial), LineFormSet(prefix="line")
        errors: dict[str, list[str]] = defaultdict(list)
        return render(request, "web/checkout/page.html", _context(request, form, formset, errors, _blank_state()))
    action = request.POST.get("action", "")[:60]
    data = formset_with_one_more_row(request.POST) if action == "add_line" else request.POST
    data = _offer(data, action) if action.startswith(("coupon:", "points:")) else data
    found, scan_error, scanned = [], "", bool((data.get("pick") or data.get("scan") or "").strip())
    if scanned:  # a scanner's Enter adds the item and never posts the sale
        data, found, scan_error = _scanned(data)
    form, formset = CheckoutForm(data, stores=stores), LineFormSet(data, prefix="line")
    if scanned:  # the next scan goes to the scan box, not to the card number
        form.fields["card"].widget.attrs.pop("autofocus", None)
    errors = _form_errors(form, formset)
    if scan_error:
        _add(errors, "scan", scan_error)
    if action == "post" and not errors and not scanned:
        try:
            receipt = _post(request, form, formset)
        except CheckoutError as exc:
            after_rollback(exc)  # a wrong member code is counted after the refused sale's rollback (SQLite)
            _add(errors, exc.field, exc.text)
        else:
            return redirect("checkout_receipt", pk=receipt.pk)
    state = _evaluate(form, formset, errors)
    status = 422 if action == "post" and not scanned else 200
    return render(request, "web/checkout/page.html", _context(request, form, formset, errors, state, found=found,
                                                              focus_scan=scanned), status=status)


def checkout_products(request: HttpRequest) -> HttpResponse:
    """The counter's product search (htmx): SKU, barcode or part of a name; each result adds one unit."""
    require(checkout_stores(request.user).exists())
    query = request.GET.get("scan", "")[:200]
    return render(request, "web/checkout/_products.html", {"found": product_search(query), "query": query.strip()})


@require_POST
def checkout_quote(request: HttpRequest) -> HttpResponse:
    """The live quote (htmx): member, card, tier, points and the priced basket; writes nothing."""
    stores = checkout_stores(request.user)
    require(stores.exists())
    form, formset = CheckoutForm(request.POST, stores=stores), LineFormSet(request.POST, prefix="line")
    errors = _form_errors(form, formset)
    state = _evaluate(form, formset, errors)
    return render(request, "web/checkout/_quote.html", _context(request, form, formset, errors, state, oob=True))


@require_POST
def checkout_member_code_send(request: HttpRequest) -> HttpResponse:
    """The stored-value field's "send SMS code" (htmx): a one-time code to the identified member's phone, which
    the member reads out or types as the member code; storedvalue.member_code.member_code_send decides."""
    from axes.helpers import get_client_ip_address

    stores = checkout_stores(request.user)
    require(stores.exists())
    form = CheckoutForm(request.POST, stores=stores)
    sent, text = None, _("Find the member first (card or phone).")
    if form.is_valid() and not form.is_walk_in and form.has_identity:
        try:
            store = form.cleaned_data["store"]
            ident = identify(store=store, **form.identify_kwargs())
            sent = member_code_send(member=ident.member, store=store, by=request.user,
                                    ip=get_client_ip_address(request))
        except CheckoutError as exc:
            text = exc.text
        except ValidationError as exc:
            text = exc.messages[0]
    return render(request, "web/checkout/_member_code_sent.html", {"sent": sent, "text": text})


# ------------------------------------------------------------------------------------- receipts, returns


def checkout_find_receipt(request: HttpRequest) -> HttpResponse:
    """Receipts of the clerk's stores by number (a full number opens the receipt), part of a number, the
    member (phone, last four digits, name, member or card number) and the day (checkout.receipts)."""
    query = (request.GET.get("q") or request.GET.get("number") or "").strip()
    day_text = request.GET.get("day", "").strip()
    day, day_error = None, ""
    if day_text:
        try:
            day = dt.date.fromisoformat(day_text[:10])
        except ValueError:
            day_error = _("Give the day as YYYY-MM-DD.")
    result = receipt_search(checkout_stores(request.user), query, day)
    if result.exact:
        return redirect("checkout_receipt", pk=result.receipts[0].pk)
    return render(request, "web/checkout/receipts.html", {
        "query": query, "day": day_text, "day_error": day_error, "result": result,
    })


def checkout_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = _receipt_for(request, pk)
    upgraded = receipt.member.cards.filter(upgraded_by=receipt).first() if receipt.member else None
    proposed = CardApplication.objects.filter(receipt=receipt, status=CardApplication.Status.PENDING,
                                              proposed_by_rules=True).first()
    returnable = (receipt.original_id is None and any(left > 0 for _line, left in _returnable(receipt)))
    programme = programme_at(timezone.localtime(receipt.sold_at).date())
    return render(request, "web/checkout/receipt.html", {
        "receipt": receipt, "lines": receipt.lines.select_related("product").order_by("pk"),
        "upgraded": upgraded, "upgraded_label": programme.label(upgraded.kind) if upgraded else "",
        "proposed": proposed, "returns": receipt.returns.order_by("sold_at"), "returnable": returnable,
        "points_moves": [(PointsEntry.Kind(row["kind"]).label, row["total"]) for row in
                         PointsEntry.objects.filter(receipt=receipt).values("kind").annotate(total=Sum("points"))
                         .order_by("kind")],
        "tier_label": programme.label(receipt.tier) if receipt.tier else "",
        "adjustments": [(provider_label(a.kind), a.amount) for a in receipt.adjustments.order_by("pk")],
        "balance_after": balance_after_receipt(receipt),
        "payments": receipt.payments.select_related("method").order_by("pk"),
        "gift_cards": receipt_gift_cards(receipt.pk),
        "progress": _progress_after(receipt, programme),
        "perk_uses": receipt_perks(receipt),
        "points_note": receipt_points_note(receipt),
    })


def _progress_after(receipt: Receipt, programme=None) -> list:
    """The progress to the next card right after this sale (the rolling window up to its time), for the card it
    was sold on while that card is active; none for a return or a sale without a member."""
    if receipt.member is None or receipt.original_id is not None:
        return []
    card = Card.objects.select_related("brand").filter(number=receipt.card_number, status=CardStatus.ACTIVE).first()
    return level_progress(receipt.member, now=receipt.sold_at, cards=[card] if card else [], programme=programme)


def _returnable(receipt: Receipt) -> list[tuple[ReceiptLine, int]]:
    lines = list(receipt.lines.select_related("product").order_by("pk"))
    returned: dict[int, int] = defaultdict(int)
    for line in ReceiptLine.objects.filter(original_line__in=lines):
        returned[line.original_line_id] += -line.quantity
    return [(line, line.quantity - returned[line.pk]) for line in lines]


def checkout_return(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = _receipt_for(request, pk)
    if receipt.original_id is not None:
        messages.error(request, _("A return cannot be returned."))
        return redirect("checkout_receipt", pk=receipt.pk)
    lines = _returnable(receipt)
    errors: list[str] = []
    if request.method == "POST":
        form = ReturnForm(request.POST, lines=lines)
        everything = request.POST.get("action") == "all"
        if form.is_valid():
            wanted = None if everything else form.return_lines()
            if wanted == []:
                errors.append(_("Give the quantity to return on at least one line."))
            else:
                try:
                    ret = _return(request, receipt, wanted, form.cleaned_data.get("token") or "")
                except CheckoutError as exc:
                    errors.append(exc.text)
                else:
                    messages.success(request, _("Return %(number)s recorded.") % {"number": ret.number})
                    if form.cleaned_data.get("exchange"):  # the new sale, for the same customer
                        return redirect(_exchange_sale_url(receipt))
                    return redirect("checkout_receipt", pk=ret.pk)
    else:
        form = ReturnForm(lines=lines, initial={"exchange": request.GET.get("exchange") == "1"})
    return render(request, "web/checkout/return.html", {"receipt": receipt, "form": form, "errors": errors},
                  status=422 if errors else 200)


def _exchange_sale_url(receipt: Receipt) -> str:
    """The checkout for the customer of `receipt`: their card (or phone) filled in, or a sale without a member."""
    if receipt.member_id is None:
        query = {"walk_in": "1"}
    elif receipt.card_number:
        query = {"card": receipt.card_number}
    else:
        query = {"phone": receipt.member.phone}
    return f"{reverse('checkout')}?{urlencode(query)}"


def _return(request: HttpRequest, receipt: Receipt, wanted, token: str) -> Receipt:
    call = dict(original=receipt, lines=wanted, clerk=request.user, store=receipt.store)
    if not token:
        return return_post(**call)
    return _once(receipt.store, f"web-return:{token}", lambda: return_post(**call))
