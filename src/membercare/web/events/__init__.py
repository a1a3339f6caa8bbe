"""VIP event pages: list, edit, invite, check-in, the public RSVP; members' referral codes."""
