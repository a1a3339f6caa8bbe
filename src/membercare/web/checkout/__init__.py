"""The counter checkout for stores without a POS integration, the receipt and returns."""
