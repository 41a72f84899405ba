"""Pure domain rules over plain data: no Flask, no database, no clock of their own
(callers pass `now`). Shared by the centre, booking checks and the offline gate agent."""
