"""Card pages: applications, the specialist's review queue, a member's cards, lost cards."""
