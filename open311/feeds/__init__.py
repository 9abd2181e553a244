"""Reads: the request feed, the update feed, a request's history, subscriptions and their callbacks."""
