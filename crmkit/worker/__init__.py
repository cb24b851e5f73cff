"""Background work: the ``job`` table, huey, the pump and the ``crmkit worker`` process.

See docs/jobs.md. Plugin code uses :class:`crmkit.Task` and ``register_jobs``; tests use
:func:`crmkit.worker.pump.drain` with a runtime in immediate mode.
"""
