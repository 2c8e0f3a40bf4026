"""What the tests share (``tests/`` is on pytest's pythonpath: ``from support.stores import memory_stores``):
in-memory stores (:mod:`support.stores`), the small two-clinic ACO (:mod:`support.small_aco`),
loading a handler (:mod:`support.handlers`), the events AWS delivers (:mod:`support.events`) and
waiting for an execution (:mod:`support.executions`)."""
