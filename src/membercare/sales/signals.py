"""Signals other apps use to react to sales without the checkout knowing them.

Both are sent inside the posting transaction, after the receipt, points and tier are written: a receiver's
writes commit or roll back with the sale, and a receiver that raises refuses the sale. Receivers get
`receipt` (a posted Receipt; `receipt.posted_lines` on a sale) and `store`; sale_posted also `bought_before`
(True when the member had paid at the store's brand within the programme's window before this sale, known
without a query: a receiver for first purchases can stop there).
"""

from django.dispatch import Signal

sale_posted = Signal()  # a member's sale (live, offline upload or API)
return_posted = Signal()  # a full or partial return; receipt.original is the sale
