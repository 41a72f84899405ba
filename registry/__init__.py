"""Park records: carriers, vehicles, people, qualifications, enterprises, plants,
gates and blacklists — their validation, import and expiry watch."""
