"""The orderflow command line, for upstream systems, ops and people trying it out.

orderflow run        the local stack, the five services, a demo; Ctrl-C stops
orderflow send       publish any command (a JSON file, or flags)
orderflow follow     an order's timeline (its id or first 8 characters), live
orderflow orders     a party's orders by status (M-17)
orderflow schedule   pending deadlines of an order (the timer service)
orderflow dlq        list dead letters; replay one after a fix
"""
