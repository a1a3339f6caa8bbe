"""Member import, step 1 (parse): the columns understood and their aliases, reading the sheet, checking rows.

Rows are checked with `clean_member_data`, the rules shared with the web form and the API, so a bad row
carries the same message a clerk would see on the form, in the user's language. members.imports runs the
steps (parse, plan, apply).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from membercare.core.permissions import visible_stores
from membercare.core.phone import normalize_phone
from membercare.core.spreadsheet import SpreadsheetError as ImportFileError
from membercare.core.spreadsheet import Table, cell_value, columns_problem, is_blank
from membercare.org.models import Staff, Store

from .validation import REQUIRED_FIELDS, clean_member_data

EXCEL_EPOCH = dt.date(1899, 12, 30)

STORE_CODE = "store_code"  # not a Member field: picks the registration store of a new member
IGNORED = "_ignored"  # columns our own export writes that an import leaves alone

# Accepted column names per field, Chinese and English. They are compared after `_header_key`
# (case, spaces, '*', ':', '-', '_' and a bracketed unit such as "(cm)" or "（厘米）" do not matter).
# The first name of each is the one shown to users in messages.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name", "名字", "会员姓名", "客户姓名", "顾客姓名", "full name", "member name"),
    "phone": ("手机号", "phone", "手机", "手机号码", "移动电话", "联系电话", "电话", "电话号码", "mobile",
              "mobile phone", "mobile number", "cell phone", "cellphone", "phone number"),
    "birthday": ("生日", "birthday", "出生日期", "公历生日", "阳历生日", "新历生日", "date of birth", "birth date",
                 "dob", "solar birthday"),
    "gender": ("性别", "gender", "sex"),
    "lunar_birthday_month": ("农历生日月", "lunar month", "农历月", "农历生日月份", "lunar birthday month",
                             "lunar birthday: month"),
    "lunar_birthday_day": ("农历生日日", "lunar day", "农历日", "lunar birthday day", "lunar birthday: day"),
    "lunar_birthday_leap": ("农历闰月", "leap month", "闰月"),
    "celebrates_lunar": ("过农历生日", "celebrates lunar", "按农历过生日", "celebrates the lunar birthday"),
    "address": ("地址", "address", "住址", "家庭住址", "联系地址", "通讯地址"),
    "email": ("邮箱", "email", "电子邮箱", "电子邮件", "邮件地址", "email address"),
    "wechat_id": ("微信", "wechat", "微信号", "wechat id", "weixin"),
    "id_number": ("身份证号", "id number", "身份证", "身份证号码", "证件号", "证件号码", "id card", "id no"),
    "occupation": ("职业", "occupation", "工作", "job"),
    "height_cm": ("身高", "height", "height cm"),
    "weight_kg": ("体重", "weight", "weight kg"),
    "skin_tone": ("肤色", "skin tone", "skin"),
    "clothing_size": ("服装尺码", "clothing size", "衣服尺码", "尺码", "服装尺寸", "size"),
    "shoe_size": ("鞋码", "shoe size", "鞋号", "鞋子尺码"),
    "first_purchase_style": ("首次购买款式", "style of first purchase", "首购款式", "首次购买风格",
                             "first purchase style"),
    "personality": ("性格", "personality", "个性"),
    "decision_style": ("决策类型", "decision style", "决策风格", "购买决策类型", "decision type"),
    "shopping_time": ("习惯购物时间", "habitual shopping time", "购物时间", "shopping time"),
    "shopping_places": ("习惯购物地点", "habitual shopping places", "购物地点", "shopping places"),
    "other_brands": ("其他品牌", "other brands bought", "其他购买品牌", "常购品牌", "other brands"),
    "tags": ("标签", "tags", "会员标签", "tag"),
    "notes": ("备注", "notes", "note", "remarks", "remark", "comments"),
    "preferred_channel": ("首选渠道", "preferred channel", "联系渠道", "首选联系方式", "偏好渠道"),
    "preferred_time": ("联系时间", "preferred contact time", "首选联系时间", "方便联系时间", "preferred time",
                       "contact time"),
    "consent_phone": ("电话同意", "marketing calls", "电话营销同意", "同意电话营销", "consent phone",
                      "consents to marketing calls"),
    "consent_sms": ("短信同意", "marketing sms", "短信营销同意", "同意短信营销", "consent sms",
                    "consents to marketing sms"),
    "consent_email": ("邮件同意", "marketing email", "邮件营销同意", "同意邮件营销", "consent email",
                      "consents to marketing email"),
    "consent_wechat": ("微信同意", "marketing wechat", "微信营销同意", "同意微信营销", "consent wechat",
                       "consents to marketing wechat"),
    STORE_CODE: ("门店编码", "store code", "门店代码", "门店编号", "店铺编码", "店铺代码", "store no"),
    # written by the member export; read-only facts an import does not change
    IGNORED: ("会员号", "member number", "会员编号", "member no", "注册门店", "registration store", "门店名称",
              "store name", "归属导购", "relationship owner", "注册时间", "registered at"),
}


def _header_key(text: Any) -> str:
    key = str(text if text is not None else "").strip().lower()
    key = key.replace("（", "(").replace("）", ")")
    stripped = re.sub(r"\([^)]*\)", "", key)
    key = stripped if stripped.strip() else key
    return re.sub(r"[\s*＊:：_\-()]+", "", key)


@functools.cache
def _alias_index() -> dict[str, str]:
    """Header key -> field: the names above, plus the export's headers in every language of the site
    (so a file exported from MemberCare in Chinese or English can be read back)."""
    from .exports import export_columns

    index: dict[str, str] = {}
    for field_name, names in COLUMN_ALIASES.items():
        for name in names:
            index.setdefault(_header_key(name), field_name)
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            for field_name, label, _getter in export_columns():
                index.setdefault(_header_key(str(label)), field_name)
    return index


def column_label(field_name: str) -> str:
    """How a column is named to the user: 手机号 / phone."""
    names = COLUMN_ALIASES[field_name]
    return f"{names[0]} / {names[1]}"


def accepted_columns() -> list[tuple[str, bool]]:
    """(label, required) for each column the import understands, for the upload page."""
    return [
        (column_label(f), f in REQUIRED_FIELDS) for f in COLUMN_ALIASES if f != IGNORED
    ]


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ValidRow:
    row: int
    data: dict[str, Any]  # cleaned member fields (no tags)
    tags: list[str]
    store_id: int


@dataclass
class Validation:
    columns: dict[str, str]  # field -> header as written in the file
    ignored_columns: list[str]
    total_rows: int = 0
    valid: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)


# --------------------------------------------------------------------------------------------- reading


def max_bytes() -> int:
    return int(settings.MEMBERCARE_IMPORT_MAX_BYTES)


def max_rows() -> int:
    return int(getattr(settings, "MEMBERCARE_IMPORT_MAX_ROWS", 200_000))


def map_columns(headers: list[str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """(column index -> field, field -> header as written, ignored headers). Raises on wrong columns."""
    by_index: dict[int, str] = {}
    field_header: dict[str, str] = {}
    unknown: list[str] = []
    twice: list[str] = []
    ignored: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue  # an unnamed column (often trailing formatting) is not read
        target = _alias_index().get(_header_key(header))
        if target is None:
            unknown.append(header)
        elif target == IGNORED:
            ignored.append(header)
        elif target in field_header:
            twice.append(f"{field_header[target]} = {header}")
        else:
            by_index[index] = target
            field_header[target] = header
    missing = [column_label(f) for f in REQUIRED_FIELDS if f not in field_header]
    if missing or unknown or twice:
        message = columns_problem(_("The columns of the file do not match the member import."),
                                  missing=missing, unknown=unknown, twice=twice, outcome=_("Nothing was imported."))
        raise ImportFileError(message)
    return by_index, field_header, ignored


# ------------------------------------------------------------------------------------------ validation


def _header_for(columns: dict[str, str], field_name: str) -> str:
    """The file's header for an error on `field_name` (lunar errors may sit on a sibling column)."""
    if field_name in columns:
        return columns[field_name]
    if field_name.startswith("lunar") or field_name == "celebrates_lunar":
        for related in ("lunar_birthday_month", "lunar_birthday_day", "celebrates_lunar", "lunar_birthday_leap"):
            if related in columns:
                return columns[related]
    return field_name


def validate_table(table: Table, *, user: Staff, default_store: Store) -> Validation:
    """Every data row through clean_member_data, plus store codes and duplicate phones inside the file."""
    by_index, columns, ignored = map_columns(table.headers)
    result = Validation(columns=columns, ignored_columns=ignored)
    stores = {s.code.strip().upper(): s for s in Store.objects.all()}
    visible = set(visible_stores(user).values_list("pk", flat=True))
    first_row_of_phone: dict[str, int] = {}
    limit = max_rows()
    indexes = list(by_index.items())
    phone_header = columns["phone"]

    for number, values in table.rows:
        if is_blank(values):
            continue
        result.total_rows += 1
        if result.total_rows > limit:
            raise ImportFileError(
                _("The file has more than %(n)d member rows: split it into smaller files.") % {"n": limit}
            )
        raw: dict[str, Any] = {}
        width = len(values)
        for index, target in indexes:
            raw[target] = cell_value(values[index]) if index < width else ""
        store_code = str(raw.pop(STORE_CODE, "") or "").strip()
        birthday = raw.get("birthday")
        if isinstance(birthday, int | float) and not isinstance(birthday, bool) and 0 < birthday < 100000:
            raw["birthday"] = EXCEL_EPOCH + dt.timedelta(days=int(birthday))  # a date cell without date format

        row_errors: list[RowError] = []
        cleaned: dict[str, Any] | None = None
        try:
            cleaned = clean_member_data(raw, check_duplicate=False)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                header = _header_for(columns, field_name)
                row_errors.extend(RowError(number, header, str(m)) for m in messages)

        store_id = default_store.pk
        if store_code:
            store = stores.get(store_code.upper())
            if store is None:
                row_errors.append(RowError(number, columns[STORE_CODE],
                                           _("Unknown store code “%(code)s”.") % {"code": store_code[:20]}))
            elif store.pk not in visible:
                row_errors.append(RowError(number, columns[STORE_CODE],
                                           _("Store %(code)s is not one of your stores.") % {"code": store.code}))
            else:
                store_id = store.pk

        phone = cleaned["phone"] if cleaned else _phone_or_none(raw.get("phone"))
        if phone:
            first = first_row_of_phone.setdefault(phone, number)
            if first != number:
                row_errors.append(RowError(number, phone_header, _("Same phone as row %(row)d.") % {"row": first}))

        if row_errors:
            result.errors.extend(row_errors)
            result.bad_rows.add(number)
        else:
            assert cleaned is not None
            tags = cleaned.pop("tags", [])
            result.valid.append(ValidRow(number, cleaned, tags, store_id))
    if result.total_rows == 0:
        raise ImportFileError(_("The file has a header row but no member rows."))
    return result


def _phone_or_none(value: Any) -> str | None:
    try:
        return normalize_phone(value)
    except ValidationError:
        return None
