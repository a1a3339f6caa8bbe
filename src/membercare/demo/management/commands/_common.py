"""Shared bits of the demo and benchmark commands."""

import datetime as dt


def parse_day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def print_logins(stdout, style, logins) -> None:
    if not logins:
        return
    stdout.write(style.MIGRATE_HEADING("Demo logins (every other demo staff account also uses the same password):"))
    width = max(len(u) for _r, u, _p, _s in logins)
    for role, username, password, store in logins:
        stdout.write(f"  {username:<{width}}  {password}   {role} · {store}")
