"""What people and programs read: the result document, expectations, the visit table, reports,
figures, tones and notebook frames. Every output reads the run's record.
"""
