"""Merchant analytics: funnels, revenue and influence attribution from the rooms' event logs."""
