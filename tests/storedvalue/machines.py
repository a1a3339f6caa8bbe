"""What the stored-value and the gift-card state machines (test_state_machine, test_giftcards_state_machine)
share: money compared in exact cents, a base machine with HQ, the sales made and a clock, and the run settings."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from membercare.org.models import Role
from membercare.sales.models import Receipt
from tests.factories import StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
CENT = D("0.01")
ZERO = D("0.00")


def q(value) -> Decimal:  # SQLite sums decimals as floats: compare in exact cents
    return (value or ZERO).quantize(CENT)


class LedgerMachine(RuleBasedStateMachine):
    """A machine over the loyalty tests' small chain (set on the class by the test): HQ, the sales made, and a
    clock moving 7 minutes a step from 1 June 2026, 09:00 Shanghai."""

    chain = None  # set by run_machine

    def __init__(self):
        super().__init__()
        self.hq = StaffFactory(role=Role.SPECIALIST)
        self.sales: list[Receipt] = []
        self.clock = dt.datetime(2026, 6, 1, 9, tzinfo=TZ)

    def tick(self) -> dt.datetime:
        self.clock += dt.timedelta(minutes=7)
        return self.clock


def run_machine(machine: type[LedgerMachine], chain, *, max_examples: int) -> None:
    machine.chain = chain
    run_state_machine_as_test(machine, settings=settings(
        max_examples=max_examples, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
