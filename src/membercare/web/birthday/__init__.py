"""Birthday privilege pages: exceptions (asked at the counter, decided by the specialist) and the audit."""
