"""Reading the rows of an offline store's sales file: columns, cell values, receipts (helpers of uploads.py).

Every problem is a RowError with the spreadsheet row number the user sees, the column as written in
the file, a stable code and a message in the user's language.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.idnumber import normalize_id_number
from membercare.core.phone import normalize_phone
from membercare.core.spreadsheet import columns_problem
from membercare.loyalty.models import Card, normalize_card_number
from membercare.members.models import Member
from membercare.members.validation import parse_bool
from membercare.org.models import Staff, Store
from membercare.sales.models import Product
from membercare.sales.pipeline import LineIn

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
DEFAULT_TIME = dt.time(12, 0)  # a sale given with a date only is taken as sold at noon
LOOKUP_CHUNK = 900

# Accepted column names (compared after _header_key: case, spaces, '*', ':', '-', '_' and brackets do not
# matter). The first two names of each are shown to users.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "receipt_no": ("小票号", "receipt number", "单号", "小票编号", "销售单号", "小票号码", "receipt no", "receipt"),
    "sold_at": ("销售日期", "sale date", "日期", "销售日期时间", "date", "sold at", "date of sale"),
    "sale_time": ("销售时间", "sale time", "时间", "time"),
    "card_number": ("卡号", "card number", "会员卡号", "会员卡", "card no", "card"),
    "phone": ("手机号", "phone", "手机", "手机号码", "会员手机", "mobile", "mobile phone"),
    "sku": ("货号", "sku", "款号", "商品编码", "商品编号", "product code", "item code"),
    "quantity": ("数量", "quantity", "件数", "qty"),
    "promo_price": ("促销价", "promotion price", "活动价", "促销单价", "promo price"),
    "birthday": ("生日特权", "birthday privilege", "生日优惠", "生日折扣", "birthday"),
    # seed 001: the birthday receipt carries the member's ID number where the programme asks for it
    "id_number": ("身份证号", "id number", "身份证号码", "身份证", "证件号码", "id no"),
    "clerk": ("导购", "clerk", "导购账号", "营业员", "店员", "sales clerk"),
    "store_code": ("门店编码", "store code", "门店代码", "门店编号", "店铺编码"),
    "_ignored": ("品名", "product name", "商品名称", "名称", "会员姓名", "member name", "姓名", "name", "吊牌价",
                 "full price", "金额", "amount", "备注", "notes", "门店名称", "store name"),
}
REQUIRED_COLUMNS = ("receipt_no", "sold_at", "sku", "quantity")


class SalesUploadError(Exception):
    """The upload as a whole is refused (wrong store, unreadable file, wrong columns): nothing written."""

    def __init__(self, message: str, code: str = "upload_invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class RowError:
    row: int
    column: str
    code: str
    message: str
    receipt: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message,
                "receipt": self.receipt}


@dataclass
class ParsedRow:
    row: int
    receipt_no: str
    sold_at: dt.datetime | None = None
    card_number: str = ""
    phone: str = ""
    birthday: bool | None = None
    id_number: str = ""  # normalised; never echoed in a message or the preview
    clerk: Staff | None = None
    sku: str = ""
    quantity: int | None = None
    promo_price: Decimal | None = None
    failed: set[str] = field(default_factory=set)  # columns with an error on this row


@dataclass
class UploadReceipt:
    number: str  # the store's own receipt number
    rows: list[int]
    sold_at: dt.datetime
    card_number: str
    phone: str
    birthday: bool
    clerk: Staff | None
    lines: list[LineIn]
    member_name: str = ""
    id_number: str = ""  # checked against the profile by the birthday privilege; not in as_dict (the preview)
    paid: Decimal | None = None
    points: int | None = None
    late: bool = False
    deadline: dt.date | None = None
    deadline_estimated: bool = False

    def as_dict(self) -> dict[str, Any]:
        local = timezone.localtime(self.sold_at)
        return {"receipt": self.number, "rows": self.rows, "sold_at": local.isoformat(),
                "time": local.strftime("%Y-%m-%d %H:%M"),
                "card_number": self.card_number, "phone": self.phone, "member": self.member_name,
                "birthday": self.birthday, "items": sum(line.quantity for line in self.lines),
                "paid": str(self.paid) if self.paid is not None else "", "points": self.points,
                "late": self.late, "deadline": self.deadline.isoformat() if self.deadline else "",
                "deadline_estimated": self.deadline_estimated}


def _header_key(text: Any) -> str:
    key = str(text if text is not None else "").strip().lower().replace("（", "(").replace("）", ")")
    stripped = re.sub(r"\([^)]*\)", "", key)
    key = stripped if stripped.strip() else key
    return re.sub(r"[\s*＊:：_\-()]+", "", key)


def column_label(field_name: str) -> str:
    names = COLUMN_ALIASES[field_name]
    return f"{names[0]} / {names[1]}"


def map_columns(headers: list[str]) -> tuple[dict[int, str], dict[str, str]]:
    """(column index -> field, field -> header as written). Raises SalesUploadError on wrong columns."""
    index = {_header_key(name): f for f, names in COLUMN_ALIASES.items() for name in names}
    by_index: dict[int, str] = {}
    columns: dict[str, str] = {}
    unknown: list[str] = []
    twice: list[str] = []
    for i, header in enumerate(headers):
        if not header:
            continue
        target = index.get(_header_key(header))
        if target is None:
            unknown.append(header)
        elif target == "_ignored":
            continue
        elif target in columns:
            twice.append(f"{columns[target]} = {header}")
        else:
            by_index[i] = target
            columns[target] = header
    missing = [column_label(f) for f in REQUIRED_COLUMNS if f not in columns]
    if "card_number" not in columns and "phone" not in columns:
        missing.append(f"{column_label('card_number')} | {column_label('phone')}")
    if missing or unknown or twice:
        message = columns_problem(_("The columns of the file do not match the sales upload."),
                                  missing=missing, unknown=unknown, twice=twice, outcome=_("Nothing was posted."))
        raise SalesUploadError(message, "columns_invalid")
    return by_index, columns


# ------------------------------------------------------------------------------------------ cell values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_time(value: Any) -> dt.time | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.time()
    if isinstance(value, dt.time):
        return value
    if isinstance(value, dt.timedelta):
        return (dt.datetime.min + value).time()
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        return (dt.datetime.min + dt.timedelta(seconds=round(value * 86400))).time()
    text = str(value).strip().replace("：", ":")
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return dt.datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise ValueError(text)


def parse_sold_at(date_value: Any, time_value: Any = None) -> dt.datetime | None:
    """A sale's local time from a date (or date-time) cell and an optional time cell. Raises ValueError."""
    time_part = _parse_time(time_value)
    if isinstance(date_value, dt.datetime):
        naive = date_value.replace(tzinfo=None)
        if time_part is None and naive.time() == dt.time(0):
            time_part = DEFAULT_TIME
    elif isinstance(date_value, dt.date):
        naive = dt.datetime.combine(date_value, dt.time(0))
        time_part = time_part or DEFAULT_TIME
    elif isinstance(date_value, int | float) and not isinstance(date_value, bool):
        if not 1 < date_value < 100000:
            raise ValueError(date_value)
        naive = EXCEL_EPOCH + dt.timedelta(seconds=round(date_value * 86400))
        if time_part is None and naive.time() == dt.time(0):
            time_part = DEFAULT_TIME
    else:
        text = str(date_value or "").strip()
        if not text:
            return None
        text = re.sub(r"[年月/.]", "-", text).replace("日", " ").replace("T", " ").replace("：", ":")
        text = " ".join(text.split())
        naive = None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M"):
            try:
                naive = dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
            if len(fmt) <= 8 and time_part is None:
                time_part = DEFAULT_TIME
            break
        if naive is None:
            raise ValueError(text)
    if time_part is not None:
        naive = dt.datetime.combine(naive.date(), time_part)
    if naive.year < 2000:
        raise ValueError(naive)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        number = Decimal(str(value).strip())
    if number != number.to_integral_value() or number <= 0:
        raise ValueError(value)
    return int(number)


def _money(value: Any) -> Decimal | None:
    text = _text(value).replace("¥", "").replace("￥", "").replace(",", "").replace("，", "")
    if not text:
        return None
    amount = Decimal(text)
    if not amount.is_finite():
        raise InvalidOperation(text)
    return amount.quantize(Decimal("0.01"))


# ------------------------------------------------------------------------------------------------ rows


def parse_row(number: int, values: list[Any], by_index: dict[int, str], columns: dict[str, str], *,
              store: Store, staff: dict[str, Staff], now: dt.datetime) -> tuple[ParsedRow | None, list[RowError]]:
    """One spreadsheet row -> its values and its errors (each naming the column)."""
    raw = {target: (values[i] if i < len(values) else None) for i, target in by_index.items()}
    receipt_no = _text(raw.get("receipt_no"))
    errors: list[RowError] = []

    def error(target: str, code: str, message: str) -> None:
        row.failed.add(target)
        errors.append(RowError(number, columns.get(target, target), code, message, receipt_no))

    row = ParsedRow(number, receipt_no)
    if not receipt_no:
        error("receipt_no", "receipt_missing", _("The receipt number is missing."))
    try:
        row.sold_at = parse_sold_at(raw.get("sold_at"), raw.get("sale_time"))
    except (ValueError, OverflowError):
        error("sold_at", "date_invalid", _("“%(value)s” is not a sale date: write it as 2025-09-30 14:05.")
              % {"value": _text(raw.get("sold_at"))[:30]})
    else:
        if row.sold_at and row.sold_at > now:
            error("sold_at", "date_future", _("The sale date is in the future."))
    row.card_number = normalize_card_number(_text(raw.get("card_number")))
    phone = _text(raw.get("phone"))
    if phone:
        try:
            row.phone = normalize_phone(phone)
        except ValidationError as exc:
            error("phone", "phone_invalid", exc.messages[0])
    flag = raw.get("birthday")
    if _text(flag):
        try:
            row.birthday = parse_bool(flag)
        except ValidationError as exc:
            error("birthday", "flag_invalid", exc.messages[0])
    id_number = _text(raw.get("id_number"))
    if id_number:
        try:
            row.id_number = normalize_id_number(id_number[:40])
        except ValidationError as exc:
            error("id_number", "id_invalid", exc.messages[0])
    clerk = _text(raw.get("clerk"))
    if clerk:
        row.clerk = staff.get(clerk.lower())
        if row.clerk is None:
            error("clerk", "clerk_unknown", _("“%(name)s” is not a user of this store.") % {"name": clerk[:30]})
    code = _text(raw.get("store_code"))
    if code and code.upper() != store.code.upper():
        error("store_code", "store_mismatch", _("Store code %(code)s is not the store of this upload (%(store)s).")
              % {"code": code[:20], "store": store.code})
    row.sku = _text(raw.get("sku"))
    if not row.sku:
        error("sku", "sku_missing", _("The SKU is missing."))
    try:
        row.quantity = _quantity(raw.get("quantity"))
    except (ValueError, InvalidOperation):
        error("quantity", "quantity_invalid", _("“%(value)s” is not a quantity: a whole number above 0.")
              % {"value": _text(raw.get("quantity"))[:20]})
    try:
        row.promo_price = _money(raw.get("promo_price"))
    except (InvalidOperation, ValueError):
        error("promo_price", "price_invalid", _("“%(value)s” is not an amount.")
              % {"value": _text(raw.get("promo_price"))[:20]})
    return (row if receipt_no else None), errors


def check_references(rows: list[ParsedRow], columns: dict[str, str]) -> tuple[dict[str, Product], list[RowError]]:
    """Unknown SKUs, cards and phones, one query per kind (in chunks); promotion prices against the catalogue."""
    def lookup(model, attr: str, values: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(v for v in values if v)
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            found.update(model.objects.filter(**{f"{attr}__in": ordered[start:start + LOOKUP_CHUNK]})
                         .values_list(attr, flat=True))
        return found

    products: dict[str, Product] = {}
    skus = sorted({r.sku for r in rows if r.sku})
    for start in range(0, len(skus), LOOKUP_CHUNK):
        products.update((p.sku, p) for p in Product.objects.filter(sku__in=skus[start:start + LOOKUP_CHUNK]))
    cards = lookup(Card, "number", {r.card_number for r in rows})
    phones = lookup(Member, "phone", {r.phone for r in rows if not r.card_number})
    errors: list[RowError] = []
    for r in rows:
        product = products.get(r.sku)
        if r.sku and product is None:
            errors.append(RowError(r.row, columns["sku"], "sku_unknown", _("Unknown SKU “%(sku)s”.")
                                   % {"sku": r.sku[:30]}, r.receipt_no))
        elif product and r.promo_price is not None and not 0 <= r.promo_price <= product.full_price:
            errors.append(RowError(r.row, columns["promo_price"], "price_invalid", _(
                "A promotion price must be between 0 and the full price ¥%(price)s.")
                % {"price": product.full_price}, r.receipt_no))
        if r.card_number and r.card_number not in cards:
            errors.append(RowError(r.row, columns["card_number"], "card_unknown", _("Card %(number)s is unknown.")
                                   % {"number": r.card_number[:20]}, r.receipt_no))
        elif not r.card_number and r.phone and r.phone not in phones:
            errors.append(RowError(r.row, columns["phone"], "member_unknown", _(
                "No member has the phone number %(phone)s.") % {"phone": r.phone}, r.receipt_no))
    return products, errors


_SHARED = ("sold_at", "card_number", "phone", "birthday", "id_number", "clerk")


def group_receipts(rows: list[ParsedRow], columns: dict[str, str]) -> tuple[list[UploadReceipt], list[RowError]]:
    """Rows sharing a receipt number form one receipt. A blank member, date, flag or clerk on a later row
    repeats the first row's; a different one is an error (the receipt is left out)."""
    groups: dict[str, list[ParsedRow]] = {}
    for r in rows:
        groups.setdefault(r.receipt_no, []).append(r)
    receipts: list[UploadReceipt] = []
    errors: list[RowError] = []
    for number, members in groups.items():
        first: dict[str, tuple[Any, int]] = {}
        for r in members:
            for name in _SHARED:
                value = getattr(r, name)
                if value in (None, ""):
                    continue
                seen = first.setdefault(name, (value, r.row))
                if seen[0] != value:
                    errors.append(RowError(r.row, columns.get(name, columns.get("sale_time", name)),
                                           "receipt_conflict", _(
                        "Row %(row)d has the same receipt number %(number)s but a different %(column)s.")
                        % {"row": seen[1], "number": number, "column": columns.get(name, name)}, number))
        head = members[0].row
        sold_at = first.get("sold_at", (None, 0))[0]
        if sold_at is None and not any("sold_at" in r.failed for r in members):
            errors.append(RowError(head, columns["sold_at"], "date_missing", _("The sale date is missing."), number))
        card = first.get("card_number", ("", 0))[0]
        phone = first.get("phone", ("", 0))[0]
        if not card and not phone and not any("phone" in r.failed for r in members):
            errors.append(RowError(head, columns.get("card_number", columns.get("phone", "")), "member_required",
                                   _("Give a card number or the member's phone."), number))
        lines = [LineIn(r.sku, r.quantity or 0, promo_price=r.promo_price) for r in members]
        receipts.append(UploadReceipt(
            number=number, rows=[r.row for r in members], sold_at=sold_at or timezone.now(), card_number=card,
            phone=phone, birthday=bool(first.get("birthday", (False, 0))[0]),
            clerk=first.get("clerk", (None, 0))[0], lines=lines, id_number=first.get("id_number", ("", 0))[0]))
    return receipts, errors
