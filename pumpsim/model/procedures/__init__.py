"""Clinical procedures (refill, pump replacement): they act on the parts through the parts'
methods.
"""
