from tests.messaging.conftest import outbox  # noqa: F401  (the SMS outbox in a temporary file)
