"""Benchmark: import N new members from an .xlsx (preview, then confirm), end to end.

    .venv/bin/python bench/bench_import.py --rows 100000

Runs against whatever DATABASE_URL says (SQLite under MEMBERCARE_VAR_DIR by default) and migrates it
first. Use a fresh database: phones already in it would be merges, not new members. Uploaded files go
to a temporary media folder that is removed at the end. DEBUG is off unless DJANGO_DEBUG=1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")  # as in production: DEBUG keeps a log of every query
sys.path.insert(0, str(ROOT / "bench"))
from common import bench_keys  # noqa: E402

bench_keys()  # production mode needs keys of its own

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彩春菊凤洁梅琳素云莲真环雪荣爱妹香月莺媛"
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方"]
TAGS = ["喜欢喝茶", "60后", "70后", "80后", "有车", "商务人士", "爱运动", "带孩子", "老顾客", "团购客户"]
OCCUPATIONS = ["教师", "医生", "工程师", "公务员", "销售", "会计", "律师", "个体经营", "设计师", ""]
DISTRICTS = ["黄浦区", "静安区", "徐汇区", "浦东新区", "长宁区", "朝阳区", "海淀区", "天河区", "南山区"]
STORE_CODES = ["BENCH01", "BENCH02", "BENCH03"]
HEADER = ["姓名", "手机号", "生日", "性别", "门店编码", "标签", "地址", "职业", "身高", "身份证号", "短信同意", "备注"]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(rng: random.Random, birthday: dt.date) -> str:
    first17 = f"310101{birthday:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def write_workbook(path: Path, rows: int, seed: int = 20240521) -> None:
    """A deterministic member list: plausible Chinese names, unique valid mobiles 1[3-9]xxxxxxxxx."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    phones = rng.sample(range(7 * 10**9), rows)  # 7 second digits (3-9) x 10^9: unique, no list built
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("会员")
    sheet.append(HEADER)
    start = dt.date(1950, 1, 1).toordinal()
    span = dt.date(2005, 12, 31).toordinal() - start
    for i in range(rows):
        surname = rng.choice(COMPOUND) if rng.random() < 0.02 else rng.choice(SURNAMES)
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        phone = f"1{3 + phones[i] // 10**9}{phones[i] % 10**9:09d}"
        birthday = dt.date.fromordinal(start + rng.randrange(span))
        female = rng.random() < 0.6
        sheet.append([
            name,
            phone if i % 10 else f"{phone[:3]} {phone[3:7]} {phone[7:]}",  # some typed with spaces
            birthday,
            "女" if female else "男",
            rng.choice(STORE_CODES) if rng.random() < 0.5 else None,
            "，".join(rng.sample(TAGS, rng.randrange(3))) or None,
            f"上海市{rng.choice(DISTRICTS)}{rng.randrange(1, 999)}号" if rng.random() < 0.7 else None,
            rng.choice(OCCUPATIONS) or None,
            rng.randrange(150, 190) if rng.random() < 0.5 else None,
            id_number(rng, birthday) if rng.random() < 0.2 else None,
            "是" if rng.random() < 0.3 else "否",
            None,
        ])
    workbook.save(path)


def setup_world():
    from membercare.org.models import Brand, Company, Region, Role, Staff, Store

    company, _ = Company.objects.get_or_create(name="基准测试集团")
    brand, _ = Brand.objects.get_or_create(code="BENCH", defaults={"company": company, "name": "基准品牌"})
    region, _ = Region.objects.get_or_create(code="BENCH", defaults={"company": company, "name": "基准区"})
    stores = [
        Store.objects.get_or_create(code=code, defaults={"name": f"基准门店{code[-2:]}", "brand": brand,
                                                         "region": region})[0]
        for code in STORE_CODES
    ]
    user, _ = Staff.objects.get_or_create(username="bench-importer", defaults={"role": Role.SPECIALIST})
    return stores[0], user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file", help="reuse or keep the generated workbook at this path")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    from membercare.members.imports import confirm_import, preview_import
    from membercare.members.models import Member, MemberChange

    media = Path(tempfile.mkdtemp(prefix="bench-import-media-"))
    settings.MEDIA_ROOT = str(media)
    settings.MEMBERCARE_IMPORT_MAX_ROWS = max(args.rows, 200_000)
    translation.activate("zh-hans")

    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    db = connection.settings_dict["NAME"]
    print(f"database: {connection.vendor} {db}  (migrate {time.perf_counter() - t:.1f} s)")
    store, user = setup_world()
    before = Member.objects.count()
    if before:
        print(f"warning: the database already holds {before} members; matching phones count as merges")

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    path = Path(args.file) if args.file else workdir / f"members-{args.rows}.xlsx"
    try:
        if not path.exists():
            t = time.perf_counter()
            write_workbook(path, args.rows)
            print(f"generated {args.rows} rows -> {path.name}: {path.stat().st_size / 1e6:.1f} MB "
                  f"in {time.perf_counter() - t:.1f} s (not timed below)")
        data = path.read_bytes()

        t0 = time.perf_counter()
        job = preview_import(upload=SimpleUploadedFile(path.name, data), default_store=store, user=user)
        t1 = time.perf_counter()
        job = confirm_import(job=job, user=user)
        t2 = time.perf_counter()

        summary = job.summary
        created = Member.objects.count() - before
        print(f"preview (read + validate + look up phones, writes no member): {t1 - t0:6.1f} s "
              f"-> new {summary['new']}, merge {summary['merge']}, bad {summary['bad']}")
        print(f"confirm (read + re-validate + insert in one transaction):     {t2 - t1:6.1f} s "
              f"-> created {summary['result']['created']}, merged {summary['result']['merged']}")
        print("confirm steps (s):", ", ".join(f"{k} {v}" for k, v in summary["result"]["steps"].items()))
        print(f"confirm alone: {args.rows / (t2 - t1):,.0f} rows/s; preview + confirm: {t2 - t0:.1f} s")
        print(f"members created: {created}; import history rows: "
              f"{MemberChange.objects.filter(action='import', changed_by=user).count()}")
        if summary["bad"]:
            print("bad rows:", summary["errors"][:5])
            return 1
        return 0
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if not args.file:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
