from django.dispatch import Signal

# Sent after the transaction that wrote a book event commits.
# kwargs: event_id, kind, accounts (account numbers touched), instruments (codes touched)
event_committed = Signal()
