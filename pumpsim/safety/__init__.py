"""Safety signals: the flags that mark when the patient is at risk."""
