"""Bookings: enterprise logistics staff book trips; checks run before the truck leaves."""
