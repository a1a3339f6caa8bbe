"""The care rule on the predicted figures: a member of high value whose probability of still being active
has fallen below a threshold gets a call before they are gone.

It lives here, above care, and prediction's AppConfig.ready registers it into care.rules.RULES (last, as
it always ran), so that care never imports prediction.

`slipping_call` (off by default: it needs the weekly prediction recompute, and it overlaps the dormant and
sleeping rules, so the specialist turns it on and picks the threshold): the prediction page's list "high
value, probability fallen" (prediction.selectors.at_risk_q) with the rule's `threshold` (default 0.3): members
whose P(alive) at a brand is strictly below it or fell by at least 20 points since the previous recompute
(selectors.AT_RISK_FALL), whose value if still active there is in the brand's top 20 %,
at a brand whose model passed the hold-out check ("good": a "poor" or unchecked model's probabilities are not
facts to call on), and who got no slipping_call task in the last `cooldown_days` (default 90). Key: the month
(YYYY-MM), so at most one a month even with a short cool-down; due in `due_days` (7); the context has the
lowest such P(alive).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, F, Min, OuterRef, Value
from django.db.models.functions import JSONObject

from membercare.care.models import Task
from membercare.care.rules.base import date_value, rule_config, spec
from membercare.care.taskgen import insert_select

from .models import MemberPrediction
from .selectors import at_risk_q

CODE = "slipping_call"


def slipping_call(day: dt.date, config: dict[str, Any]) -> int:
    s = rule_config(config, CODE)
    threshold = float(s.get("threshold", 0.3))
    month = day.strftime("%Y-%m")
    recent = Task.objects.filter(rule=CODE, member_id=OuterRef("member_id"),
                                 created_on__gt=day - dt.timedelta(days=int(s.get("cooldown_days", 90))))
    rows = (MemberPrediction.objects.filter(at_risk_q(threshold))
            .filter(~Exists(recent))
            .values("member_id")
            .annotate(t_member=F("member_id"), t_key=Value(month),
                      t_due=date_value(day + dt.timedelta(days=int(s.get("due_days", 7)))),
                      t_context=JSONObject(p_alive=Min("p_alive"))))
    return insert_select(spec(CODE, day, config), rows)
