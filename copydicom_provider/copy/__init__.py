"""Moving instances from a source Orthanc to a destination: plan, send (rest or peer), count.

``plan`` finds what the destination lacks; ``rest`` sends it through the worker, ``peer`` has the
source push it; ``parallel`` is the thread pool all of them share. Nothing here imports ``jobs``
other than ``jobs.summary``.
"""
