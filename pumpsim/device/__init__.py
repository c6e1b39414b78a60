"""What the pump is and believes: alarms, battery."""
