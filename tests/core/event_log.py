"""An event receiver on the Celery broker in a thread, as `celery events` and Flower run one (used by
tests/core/test_celery_events.py and tests/core/test_multinode.py)."""

from __future__ import annotations

import threading
import time


class EventLog:
    """An event receiver on the broker in a thread, as `celery events` and Flower run one."""

    def __init__(self, broker: str) -> None:
        from celery import Celery

        self.app = Celery(broker=broker)
        self.events: list[dict] = []
        self.ready = threading.Event()
        self._receiver = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.app.connection_for_read() as conn:
            self._receiver = self.app.events.Receiver(conn, handlers={"*": self.events.append})
            self.ready.set()
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def __enter__(self) -> EventLog:
        self._thread.start()
        assert self.ready.wait(30)
        time.sleep(0.5)  # subscribed to the events' channel before anything is sent
        return self

    def __exit__(self, *exc) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(10)

    def types_of(self, task_id: str) -> set[str]:
        return {e["type"] for e in list(self.events) if e.get("uuid") == task_id}

    def wait_for(self, task_id: str, wanted: set[str], timeout: float = 60) -> set[str]:
        deadline = time.monotonic() + timeout
        while not wanted <= self.types_of(task_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.types_of(task_id)
