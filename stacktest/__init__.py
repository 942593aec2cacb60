"""The harness that drives a stack from outside, shared by tests/ and benchmarks/: start a native or compose
stack, talk to it through HAProxy, deploy to it from a local origin, and fake the services around it.

Not part of the running stack (stackctl/, webhook/, devtools/ are); nothing here imports pytest or tests/.
"""
