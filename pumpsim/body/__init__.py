"""What physically happens downstream of the pump: catheter and CSF."""
