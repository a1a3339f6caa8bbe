"""Campaign pages: coupon batches and campaign results against their hold-out groups."""
