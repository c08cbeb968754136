"""tracegrad's neural-net library: neurons, layers, losses, optimizers and training,
built only from engine Values so that every gradient in a network can be traced.
"""
