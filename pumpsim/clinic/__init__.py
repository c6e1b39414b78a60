"""The clinic: what happens at visits (refills, programming) and what a clinic records of them."""
