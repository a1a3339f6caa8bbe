"""Stored value (储值卡): a member's prepaid balance, spent as a tender at checkout.

A card per member and scope (the chain, or one brand: `rules.scope`) holds two balances, principal (money the
member paid) and bonus (given by the chain at a top-up), each kept equal to a ledger of entries that are never
edited (StoredValueEntry, like loyalty's PointsEntry). Top-ups are paid by a recorded tender (a
sales.PaymentMethod); spending is a tender of the sale pipeline (`sale.StoredValueTender`: the POS or the
counter names the `stored_value` payment method with an amount); a return gives the money back in the spend's
principal/bonus split; a refund of the balance (principal only, the bonus forfeited) needs HQ's approval; a lost
card is frozen and its balance moved to a new card.

Why an app of its own rather than inside loyalty: stored value is money (a liability of the chain under the
2012 prepaid-card measures, with its own rules document and HQ approvals), not a reward; it sits on the floor
above loyalty (it takes loyalty's per-member account lock, so a sale, a return, a top-up and a refund for one
member are serialised by the same lock the checkout already holds) and below checkout, which runs it as one of
its registered providers without importing it.
"""
