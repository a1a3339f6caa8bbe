"""Signals other apps use to react to the member file without the members app knowing them.

`member_referred` is sent by member_create, inside its transaction, when a member registers with a
referral code (kwargs: `member`, `code`, `by`). The app that keeps referrals (events) records it; a receiver
that raises (a refused code: ValidationError on "referral_code") refuses the registration.
"""

from django.dispatch import Signal

member_referred = Signal()

# a member's personal data was erased (privacy.member_erase), inside its transaction: receivers delete or blank
# what their app keeps about the person and may add to `counts`
member_erased = Signal()

# a member was registered or changed (member_create, member_update), inside its transaction (kwargs: `member`,
# `created`): loyalty gives the profile-completed points the first time the profile is complete
member_saved = Signal()
